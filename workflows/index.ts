// The workflow bundle's entry point: every workflow type the worker registers. Deterministic code only.
export { paymentWorkflow } from './payment-workflow.js';
