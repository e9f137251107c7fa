/**
 * Confirms a Stripe PaymentIntent with payconfirm and prints the outcome.
 *
 *   PAYCONFIRM_API_URL=http://127.0.0.1:3000 PAYCONFIRM_API_KEY=pcf_… npx tsx examples/confirm-payment.ts pi_…
 *
 * Exit code: 0 credited (now or earlier), 1 not payable or an error, 2 still pending after 30 s.
 */
import { pathToFileURL } from 'node:url';
import { PayconfirmApiError, PayconfirmClient, type PaymentResult } from 'payconfirm/client';

export async function main(argv: readonly string[], env: Record<string, string | undefined>): Promise<number> {
  const [paymentIntentId] = argv;
  const baseUrl = env.PAYCONFIRM_API_URL;
  const apiKey = env.PAYCONFIRM_API_KEY;
  if (!paymentIntentId || !baseUrl || !apiKey) {
    console.error('usage: PAYCONFIRM_API_URL=… PAYCONFIRM_API_KEY=… confirm-payment.ts pi_…');
    return 1;
  }

  const client = new PayconfirmClient({ baseUrl, apiKey });
  try {
    // Safe to call again: payconfirm credits a PaymentIntent once, whatever the number of calls.
    const result = await client.confirmPayment(paymentIntentId, { wait: 30_000 });
    console.log(JSON.stringify(result));
    return exitCodeOf(result);
  } catch (error) {
    // 4xx other than not_payable (401, 403, 404, 409 payment_rejected), or retries exhausted.
    if (error instanceof PayconfirmApiError) console.error(`${error.httpStatus} ${error.code}: ${error.message}`);
    else console.error(String(error));
    return 1;
  }
}

function exitCodeOf(result: PaymentResult): number {
  switch (result.status) {
    case 'credited':
    case 'already_credited':
      return 0;
    case 'pending':
      return 2;
    case 'not_payable':
      return 1;
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = await main(process.argv.slice(2), process.env);
}
