import { ensureTool, MAILPIT, PROMTOOL, STRIPE_MOCK, TEMPORAL_CLI } from './go-tools.js';

/**
 * Installs what the project needs beyond node_modules, once (cached in .tools/): the Temporal CLI,
 * stripe-mock and Mailpit (the e-mail receipts' SMTP server) built from their pinned Go modules — unless
 * TEMPORAL_CLI_PATH / STRIPE_MOCK_PATH / MAILPIT_PATH or the tools on PATH already provide them. `--for-tests` also builds promtool (pinned likewise; PROMTOOL_PATH or PATH
 * first) for the alert rules' test, and makes sure a Chromium for the browser test exists.
 * Runs as `npm test`'s pretest step, so a fresh clone needs nothing else.
 */
const say = (line: string) => process.stderr.write(`[provision] ${line}\n`);

const forTests = process.argv.includes('--for-tests');
try {
  const [temporal, stripeMock, mailpit] = await Promise.all([ensureTool(TEMPORAL_CLI, say), ensureTool(STRIPE_MOCK, say), ensureTool(MAILPIT, say)]);
  say(`temporal: ${temporal}`);
  say(`stripe-mock: ${stripeMock}`);
  say(`mailpit: ${mailpit}`);
  if (forTests) {
    // promtool checks and unit-tests the alert rules (test/alert-rules.test.ts).
    say(`promtool: ${await ensureTool(PROMTOOL, say)}`);
    const { ensureChromium } = await import('./chromium.js');
    say(`chromium: ${await ensureChromium(say)}`);
  }
} catch (err) {
  say(String((err as Error).message ?? err));
  process.exit(1);
}
