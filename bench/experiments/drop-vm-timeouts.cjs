/**
 * A measurement, never a setting: preloaded with NODE_OPTIONS, it drops the `timeout` of every node:vm call in
 * every thread of the process, so the Temporal SDK's deadlock detector (isolateExecutionTimeout) starts no
 * watchdog. Node starts a thread for each vm call with a timeout (nodejs/node#47739), and the worker makes ~10
 * such calls a payment: this tells what those threads cost.
 *
 *   NODE_OPTIONS="--require ./bench/experiments/drop-vm-timeouts.cjs" npm run bench -- --only throughput
 *
 * Measured 2026-12-01 (docs/architecture.md, "Throughput, measured"): worker CPU per payment 23.8 and 23.4 ms with
 * it, 24.2 and 25.6 ms without; confirm p50 99/88/90 ms with it, 93/93/91 ms without (`--only confirm --confirms
 * 40`): within the noise either way. Without the detector a workflow stuck in a loop would hang its worker thread
 * for good: payconfirm keeps it.
 */
'use strict';
const vm = require('node:vm');

const withoutTimeout = (opts) => {
  if (!opts || typeof opts !== 'object' || opts.timeout === undefined) return opts;
  const { timeout: _dropped, ...rest } = opts;
  return rest;
};
const scriptRunInContext = vm.Script.prototype.runInContext;
vm.Script.prototype.runInContext = function (context, opts) {
  return scriptRunInContext.call(this, context, withoutTimeout(opts));
};
const runInContext = vm.runInContext;
vm.runInContext = function (code, context, opts) {
  return runInContext.call(this, code, context, withoutTimeout(opts));
};
