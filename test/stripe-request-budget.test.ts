import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool, type Pool } from '../src/db/pool.js';
import {
  BACKLOG_HORIZON_MS,
  createStripeRequestBudget,
  JITTER_ALLOWANCE,
  StripeBudgetTimeout,
  stripeBudgetLimitsFor,
  stripeKeyMode,
  withStripePriority,
  currentStripePriority,
} from '../src/stripe/stripe-request-budget.js';
import { loadConfig } from '../src/config.js';
import { startFakeStripe } from './support/fake-stripe/index.js';
import { budgetedStripeClientFor, createTestContext, stripeClientFor, type TestContext } from './support/test-context.js';

/**
 * The Stripe request budget every process shares (migration 1732300000016, src/stripe/stripe-request-budget.ts), on
 * the run's real Postgres: the SQL function on the database's clock, then the module's waits, priority and bounds.
 */
let ctx: TestContext;
/** Separate pools stand for separate processes: they share nothing but the database. */
const processes: Pool[] = [];

beforeAll(async () => {
  ctx = await createTestContext('stripe-request-budget');
  for (let i = 0; i < 4; i++) processes.push(createPool({ url: ctx.databaseUrl, schema: ctx.schema, max: 4, application: `budget-${i}` }));
});
afterAll(async () => {
  await Promise.all(processes.map((p) => p.end()));
  await ctx?.close();
});

let opSequence = 0;
/** A fresh operation name per test, so tests never share an operation's bucket. */
const newOperation = (label: string) => `GET /v1/${label}_${++opSequence}/:id`;

/** The largest number of `times` inside any half-open window of `window` (same unit). */
function maxInSlidingWindow(times: number[], window: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let best = 0;
  for (let end = 0, start = 0; end < sorted.length; end++) {
    while (sorted[end]! - sorted[start]! >= window) start++;
    best = Math.max(best, end - start + 1);
  }
  return best;
}

interface Grant {
  operation: string;
  /** The slot, µs since the epoch. */
  atUs: number;
}

/** One taker, as a backlog caller of the module is (horizon 0.5 s): takes until `untilMs`, sleeping what it is told. */
async function taker(pool: Pool, operations: string[], perSecond: number, accountPerSecond: number, untilMs: number): Promise<number> {
  let calls = 0;
  for (let i = 0; Date.now() < untilMs; i++) {
    const operation = operations[i % operations.length]!;
    const { rows } = await pool.query<{ wait: number }>('SELECT stripe_budget_take($1, $2, $3, 0.5) AS wait', [operation, perSecond, accountPerSecond]);
    calls++;
    const wait = rows[0]!.wait;
    expect(wait).toBeLessThanOrEqual(0.5);
    await sleep(Math.abs(wait) * 1000);
  }
  return calls;
}

/**
 * Every slot the function grants, exactly as it wrote it: a trigger (this test's schema only) logs each move of a
 * bucket's next slot, less the interval it moved by (the function's own rounding).
 */
async function logGrants(): Promise<() => Promise<Grant[]>> {
  await ctx.pool.query(`
    CREATE TABLE granted_slots (operation text NOT NULL, slot timestamptz NOT NULL);
    CREATE FUNCTION log_granted_slot() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO granted_slots VALUES (NEW.operation, NEW.next_slot_at - make_interval(secs => ceil(1e6 / NEW.rate_per_second) / 1e6));
      RETURN NEW;
    END $$;
    CREATE TRIGGER log_granted_slot AFTER UPDATE OF next_slot_at ON stripe_request_budget FOR EACH ROW EXECUTE FUNCTION log_granted_slot();`);
  return async () => {
    // Whole microseconds (what timestamptz holds), so window arithmetic is exact.
    const { rows } = await ctx.pool.query<{ operation: string; at_us: string }>(
      'SELECT operation, (extract(epoch FROM slot) * 1000000)::bigint::text AS at_us FROM granted_slots',
    );
    await ctx.pool.query('DROP TRIGGER log_granted_slot ON stripe_request_budget; DROP FUNCTION log_granted_slot(); DROP TABLE granted_slots');
    return rows.map((r) => ({ operation: r.operation, atUs: Number(r.at_us) }));
  };
}

describe('stripe_budget_take (SQL, on the database clock)', () => {
  it('16 concurrent takers in 4 processes never exceed an operation\'s rate or the account\'s in any sliding second', { timeout: 30_000 }, async () => {
    const [a, b] = [newOperation('a'), newOperation('b')];
    const grantsLogged = await logGrants();
    const until = Date.now() + 3_000;
    const calls = await Promise.all(
      Array.from({ length: 16 }, (_, i) => taker(processes[i % processes.length]!, i % 2 ? [a, b] : [b, a], 12, 20, until)),
    );
    const all = await grantsLogged();
    const grants = all.filter((g) => g.operation !== '*');
    const of = (op: string) => all.filter((g) => g.operation === op).map((g) => g.atUs);
    const SECOND_US = 1_000_000;
    const peaks = { a: maxInSlidingWindow(of(a), SECOND_US), b: maxInSlidingWindow(of(b), SECOND_US), account: maxInSlidingWindow(of('*'), SECOND_US) };
    // The account's slots are the operations' slots: one of each per request taken.
    expect(all.filter((g) => g.operation === '*')).toHaveLength(grants.length);
    console.info(`[stripe-request-budget] ${grants.length} grants of ${calls.reduce((x, y) => x + y, 0)} calls in 3 s; peaks ${JSON.stringify(peaks)}`);
    expect(peaks.a).toBeLessThanOrEqual(12);
    expect(peaks.b).toBeLessThanOrEqual(12);
    expect(peaks.account).toBeLessThanOrEqual(20);
    // …and the budget is spent, not just withheld: the account's 20/s binds (two operations of 12/s want 24).
    expect(peaks.account).toBeGreaterThanOrEqual(18);
    expect(grants.length).toBeGreaterThanOrEqual(50);
  });

  it('returns the wait of a reserved slot at once, without sleeping in SQL; past the horizon it takes nothing', async () => {
    const op = newOperation('reserve');
    const started = performance.now();
    const waits: number[] = [];
    // 2 per second for the operation: slots 0, 0.5, 1.0, 1.5 s away; a horizon of 1.2 s reserves the first three.
    for (let i = 0; i < 4; i++) {
      const { rows } = await ctx.pool.query<{ wait: number }>('SELECT stripe_budget_take($1, 2, 1000, 1.2) AS wait', [op]);
      waits.push(rows[0]!.wait);
    }
    const elapsedMs = performance.now() - started;
    expect(elapsedMs).toBeLessThan(400);
    const elapsed = elapsedMs / 1000;
    // The first slot is at most one account interval away (the account row is shared with the tests before); each
    // next one is 0.5 s later, and the clock moved on by less than `elapsed` between the calls.
    const first = waits[0]!;
    expect(first).toBeGreaterThanOrEqual(0);
    expect(first).toBeLessThan(0.1);
    for (const i of [1, 2]) {
      expect(waits[i]! - first).toBeGreaterThan(i * 0.5 - elapsed);
      expect(waits[i]! - first).toBeLessThanOrEqual(i * 0.5);
    }
    // The fourth slot (1.5 s) is beyond the horizon: nothing taken, call again in about 0.3 s.
    expect(waits[3]).toBeLessThan(0);
    expect(-waits[3]! - first).toBeGreaterThan(0.3 - elapsed);
    expect(-waits[3]! - first).toBeLessThanOrEqual(0.3);
    // It took nothing: the operation's next slot is still the fourth, 1.5 s after the first.
    const { rows } = await ctx.pool.query<{ ahead: number }>(
      'SELECT extract(epoch FROM next_slot_at - clock_timestamp())::float8 AS ahead FROM stripe_request_budget WHERE operation = $1',
      [op],
    );
    expect(rows[0]!.ahead - first).toBeGreaterThan(1.5 - (performance.now() - started) / 1000);
    expect(rows[0]!.ahead - first).toBeLessThanOrEqual(1.5);
  });

  it('creates a new operation\'s row once, whatever the number of concurrent first takes', async () => {
    const op = newOperation('first');
    const waits = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        processes[i % processes.length]!.query<{ wait: number }>('SELECT stripe_budget_take($1, 1000, 1000, 60) AS wait', [op]).then((r) => r.rows[0]!.wait),
      ),
    );
    expect(waits.every((w) => w >= 0)).toBe(true);
    const { rows } = await ctx.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM stripe_request_budget WHERE operation = $1', [op]);
    expect(rows[0]!.n).toBe(1);
  });

  it('refuses the account row as an operation and rates that are not positive', async () => {
    await expect(ctx.pool.query("SELECT stripe_budget_take('*', 10, 10, 0)")).rejects.toThrow(/bad arguments/);
    await expect(ctx.pool.query("SELECT stripe_budget_take('GET /v1/x', 0, 10, 0)")).rejects.toThrow(/bad arguments/);
  });
});

describe('createStripeRequestBudget', () => {
  it('waits the returned delay on a timer and paces at the limit less the jitter allowance', { timeout: 20_000 }, async () => {
    const op = newOperation('paced');
    const budget = createStripeRequestBudget({ pool: processes[0]!, limits: { accountPerSecond: 1_000, operationPerSecond: 10 } });
    const started = performance.now();
    const done: number[] = [];
    await Promise.all(Array.from({ length: 11 }, () => budget.take(op).then(() => done.push(performance.now() - started))));
    // Eleven requests at 10/s less 5 %: the last one goes about 10 intervals of 105 ms after the first.
    const lastMs = Math.max(...done);
    expect(lastMs).toBeGreaterThanOrEqual(10 * (1_000 / 10) * (1 + JITTER_ALLOWANCE) - 20);
    expect(lastMs).toBeLessThan(3_000);
  });

  it('serves an interactive request before the backlog queued ahead of it', { timeout: 20_000 }, async () => {
    const op = newOperation('priority');
    const limits = { accountPerSecond: 1_000, operationPerSecond: 10 };
    const workers = createStripeRequestBudget({ pool: processes[1]!, limits });
    const api = createStripeRequestBudget({ pool: processes[2]!, limits });
    const started = performance.now();
    const backlogDone: number[] = [];
    // 20 backlog requests at 10/s: two seconds of work.
    const backlog = Array.from({ length: 20 }, () => workers.take(op, 'backlog').then(() => backlogDone.push(performance.now() - started)));
    await sleep(150);
    const asked = performance.now();
    await withStripePriority('interactive', () => api.take(op));
    const interactiveWaitMs = performance.now() - asked;
    const servedBefore = backlogDone.length;
    await Promise.all(backlog);
    console.info(`[stripe-request-budget] interactive waited ${interactiveWaitMs.toFixed(0)} ms; backlog served before it ${servedBefore} of 20`);
    // It waits at most the backlog's horizon (plus one slot), not the backlog's two seconds.
    expect(interactiveWaitMs).toBeLessThan(BACKLOG_HORIZON_MS + 250);
    expect(servedBefore).toBeLessThan(15);
  });

  it('gives up after the bounded wait with StripeBudgetTimeout, and says so at once when the slot is beyond it', async () => {
    const op = newOperation('bounded');
    const budget = createStripeRequestBudget({ pool: ctx.pool, limits: { accountPerSecond: 1_000, operationPerSecond: 0.5 }, maxWaitMs: 300 });
    await budget.take(op);
    const started = performance.now();
    const refused = await budget.take(op).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(StripeBudgetTimeout);
    expect((refused as StripeBudgetTimeout).operation).toBe(op);
    // The next slot is ~2 s away, beyond the 300 ms bound: no point sleeping first.
    expect(performance.now() - started).toBeLessThan(250);
  });

  it('a 429 halves the operation\'s rate for every process and holds it for Retry-After; takes add the rate back', { timeout: 20_000 }, async () => {
    const op = newOperation('slowed');
    const limits = { accountPerSecond: 1_000, operationPerSecond: 20 };
    const one = createStripeRequestBudget({ pool: processes[0]!, limits });
    const other = createStripeRequestBudget({ pool: processes[3]!, limits });
    await one.take(op);
    const rate = async () =>
      (await ctx.pool.query<{ r: number }>('SELECT rate_per_second AS r FROM stripe_request_budget WHERE operation = $1', [op])).rows[0]!.r;
    const configured = 20 / (1 + JITTER_ALLOWANCE);
    expect(await rate()).toBeCloseTo(configured, 6);

    await one.slowDown(op, 600);
    await one.slowDown(op, 600); // a second 429 in the same second does not halve again
    expect(await rate()).toBeCloseTo(configured / 2, 6);
    const asked = performance.now();
    await other.take(op); // another process waits for the Retry-After too
    expect(performance.now() - asked).toBeGreaterThanOrEqual(550);
    // Additive increase: a tenth of the configured rate per second since the slowdown, on the next take.
    const recovered = await rate();
    expect(recovered).toBeGreaterThan(configured / 2);
    expect(recovered).toBeLessThan(configured / 2 + configured * 0.1 * 2);
  });
});

describe('the Stripe client', () => {
  it('takes a token of the request\'s operation before each attempt; a client without a budget takes none', async () => {
    const fake = await startFakeStripe();
    try {
      const customer = fake.createCustomer();
      await stripeClientFor(fake.url).customers.retrieve(customer.id);
      const rowsOf = async (operation: string) =>
        (await ctx.pool.query('SELECT 1 FROM stripe_request_budget WHERE operation = $1', [operation])).rowCount;
      expect(await rowsOf('GET /v1/customers/:id')).toBe(0);

      const limits = { accountPerSecond: 1_000, operationPerSecond: 4 };
      const stripe = budgetedStripeClientFor(ctx, fake.url, limits);
      const started = performance.now();
      await Promise.all([1, 2, 3, 4, 5].map(() => stripe.customers.retrieve(customer.id)));
      // Five reads of one operation at 4/s less 5 %: the fifth waited four intervals of ~262 ms.
      expect(performance.now() - started).toBeGreaterThanOrEqual(4 * (1_000 / 4) * (1 + JITTER_ALLOWANCE) - 20);
      expect(await rowsOf('GET /v1/customers/:id')).toBe(1);
      const arrivals = fake.requestsTo('GET', `/v1/customers/${customer.id}`).slice(1).map((r) => r.at);
      expect(arrivals).toHaveLength(5);
      expect(Math.max(...arrivals) - Math.min(...arrivals)).toBeGreaterThanOrEqual(4 * 250);
    } finally {
      await fake.close();
    }
  });
});

describe('limits', () => {
  it("defaults to Stripe's documented limits for the key's mode; the two variables override them", () => {
    expect(stripeKeyMode('sk_live_abc')).toBe('live');
    expect(stripeKeyMode('rk_live_abc')).toBe('live');
    expect(stripeKeyMode('sk_test_abc')).toBe('sandbox');
    expect(stripeKeyMode('rk_test_abc')).toBe('sandbox');
    expect(stripeBudgetLimitsFor('sk_live_abc')).toEqual({ accountPerSecond: 100, operationPerSecond: 25 });
    expect(stripeBudgetLimitsFor('sk_test_abc')).toEqual({ accountPerSecond: 25, operationPerSecond: 25 });
    expect(loadConfig({ STRIPE_SECRET_KEY: 'rk_live_abc' }).stripe.budget).toEqual({ accountPerSecond: 100, operationPerSecond: 25 });
    expect(loadConfig({ STRIPE_SECRET_KEY: 'sk_test_abc' }).stripe.budget).toEqual({ accountPerSecond: 25, operationPerSecond: 25 });
    expect(
      loadConfig({ STRIPE_SECRET_KEY: 'sk_live_abc', STRIPE_RATE_LIMIT_PER_SECOND: '400', STRIPE_OPERATION_RATE_LIMIT_PER_SECOND: '50' }).stripe.budget,
    ).toEqual({ accountPerSecond: 400, operationPerSecond: 50 });
  });

  it('requests are backlog unless made inside withStripePriority', async () => {
    expect(currentStripePriority()).toBe('backlog');
    await withStripePriority('interactive', async () => {
      await sleep(1);
      expect(currentStripePriority()).toBe('interactive');
    });
  });
});
