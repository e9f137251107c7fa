import { PayconfirmClient } from '../../src/client/index.js';

/**
 * The typed client over a network that loses the first answer on its way back (the server did the work): what a
 * client sees after a timeout. `keys` lists the Idempotency-Key of every request sent, in order.
 */
export function clientLosingFirstAnswer(baseUrl: string, apiKey: string): { client: PayconfirmClient; keys: string[] } {
  const keys: string[] = [];
  let dropNext = true;
  const client = new PayconfirmClient({
    baseUrl,
    apiKey,
    retry: { maxAttempts: 3, baseDelayMs: 10, maxDelayMs: 20 },
    fetch: async (input, init) => {
      const response = await fetch(input, init);
      keys.push(new Headers(init?.headers).get('idempotency-key') ?? '');
      if (dropNext) {
        dropNext = false;
        throw new TypeError('fetch failed: the answer was lost on the way back');
      }
      return response;
    },
  });
  return { client, keys };
}
