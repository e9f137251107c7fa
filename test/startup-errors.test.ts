import { describe, expect, inject, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';
import { freePort } from '../src/dev/free-port.js';
import { cleanEnv, runTsEntry } from './support/run-process.js';

const STRIPE = { STRIPE_SECRET_KEY: 'sk_test_startup', STRIPE_WEBHOOK_SECRET: 'whsec_startup' };

/** Each entry point, given a broken environment, prints ONE line naming the problem and exits non-zero. */
describe.each(['src/worker/main.ts', 'src/api/main.ts'])('%s refuses to start on a bad environment', (entry) => {
  const expectOneLine = (stderr: string, pattern: RegExp) => {
    const lines = stderr.split('\n').filter((l) => l.trim() && !l.includes('Unknown user config'));
    expect(lines, stderr).toHaveLength(1);
    expect(lines[0]).toMatch(pattern);
  };

  it('a wrong DATABASE_URL (nothing listening) → one line naming DATABASE_URL, exit 1', async () => {
    const port = await freePort();
    const r = await runTsEntry(entry, [], cleanEnv({ ...STRIPE, DATABASE_URL: `postgres://u:hunter2@127.0.0.1:${port}/db`, TEMPORAL_ADDRESS: inject('temporalAddress') }));
    expect(r.code).toBe(1);
    expectOneLine(r.stderr, /cannot reach Postgres at DATABASE_URL \(127\.0\.0\.1:\d+\/db\)/);
    expect(r.stderr).not.toContain('hunter2');
  });

  it('a malformed DATABASE_URL → one line naming it, exit 1', async () => {
    const r = await runTsEntry(entry, [], cleanEnv({ ...STRIPE, DATABASE_URL: 'mysql://nope', TEMPORAL_ADDRESS: '127.0.0.1:7233' }));
    expect(r.code).toBe(1);
    expectOneLine(r.stderr, /invalid configuration: DATABASE_URL must be a postgres:\/\/ URL/);
  });

  it('an unreachable TEMPORAL_ADDRESS → one line naming TEMPORAL_ADDRESS, exit 1', async () => {
    const port = await freePort();
    const r = await runTsEntry(entry, [], cleanEnv({ ...STRIPE, DATABASE_URL: inject('databaseUrl'), TEMPORAL_ADDRESS: `127.0.0.1:${port}` }));
    expect(r.code).toBe(1);
    expectOneLine(r.stderr, new RegExp(`TEMPORAL_ADDRESS \\(127\\.0\\.0\\.1:${port}\\)`));
  });

  it('a missing STRIPE_SECRET_KEY → one line naming it, exit 1', async () => {
    const r = await runTsEntry(entry, [], cleanEnv({ STRIPE_WEBHOOK_SECRET: 'whsec_x', DATABASE_URL: inject('databaseUrl'), TEMPORAL_ADDRESS: inject('temporalAddress') }));
    expect(r.code).toBe(1);
    expectOneLine(r.stderr, /STRIPE_SECRET_KEY is required/);
  });

  it('a live Stripe key with a plain-http STRIPE_API_BASE → one line naming STRIPE_API_BASE, exit 1, the key never printed', async () => {
    const live = 'sk_live_startupSecretValue';
    const r = await runTsEntry(entry, [], cleanEnv({ STRIPE_SECRET_KEY: live, STRIPE_WEBHOOK_SECRET: 'whsec_x', STRIPE_API_BASE: 'http://stripe.internal:12111', DATABASE_URL: inject('databaseUrl'), TEMPORAL_ADDRESS: inject('temporalAddress') }));
    expect(r.code).toBe(1);
    expectOneLine(r.stderr, /invalid configuration: STRIPE_API_BASE must be an https:\/\/ URL with a live Stripe key/);
    expect(r.stderr).not.toContain(live);
  });
});

/** Where STRIPE_API_BASE may point: a live key only over https; test keys anywhere (the fake Stripe and stripe-mock are http). */
describe('STRIPE_API_BASE with the key\'s mode', () => {
  const load = (key: string, base: string) => () => loadConfig({ STRIPE_SECRET_KEY: key, STRIPE_API_BASE: base });

  it.each(['sk_live_abc', 'rk_live_abc'])('%s refuses http:// (ConfigError naming STRIPE_API_BASE)', (key) => {
    expect(load(key, 'http://127.0.0.1:12111')).toThrow(ConfigError);
    expect(load(key, 'http://127.0.0.1:12111')).toThrow(/^STRIPE_API_BASE must be an https:\/\/ URL with a live Stripe key/);
  });

  it.each(['sk_live_abc', 'rk_live_abc'])('%s accepts https://', (key) => {
    expect(loadConfig({ STRIPE_SECRET_KEY: key, STRIPE_API_BASE: 'https://stripe-proxy.internal' }).stripe.apiBase).toBe('https://stripe-proxy.internal');
  });

  it.each(['sk_test_abc', 'rk_test_abc'])('%s may use http:// (fake Stripe, stripe-mock)', (key) => {
    expect(loadConfig({ STRIPE_SECRET_KEY: key, STRIPE_API_BASE: 'http://127.0.0.1:12111' }).stripe.apiBase).toBe('http://127.0.0.1:12111');
  });
});
