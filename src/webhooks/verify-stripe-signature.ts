import Stripe from 'stripe';

/** Stripe's own replay window: a signature whose timestamp is older than this is refused. */
export const SIGNATURE_TOLERANCE_SECONDS = 300;

export type SignatureProblem = 'missing' | 'invalid' | 'stale';

/**
 * The `Stripe-Signature` header is absent, matches none of the configured secrets, or matches one but is older
 * than the tolerance (a replay). The message never quotes the header, the body or a secret.
 */
export class WebhookSignatureError extends Error {
  override readonly name = 'WebhookSignatureError';
  constructor(readonly problem: SignatureProblem) {
    super(
      problem === 'missing'
        ? 'the Stripe-Signature header is missing'
        : problem === 'stale'
          ? `the Stripe-Signature timestamp is older than ${SIGNATURE_TOLERANCE_SECONDS} s`
          : 'the Stripe-Signature header matches no configured webhook secret',
    );
  }
}

/** The signature is good but the body is not JSON. */
export class WebhookPayloadNotJsonError extends Error {
  override readonly name = 'WebhookPayloadNotJsonError';
  constructor() {
    super('the request body is not valid JSON');
  }
}

const STALE_MESSAGE = 'Timestamp outside the tolerance zone';

/**
 * Verifies a delivery with the official SDK (`Stripe.webhooks.constructEvent`, tolerance 300 s) against each
 * configured secret in turn — several during a rotation — and returns the parsed body.
 * The SDK checks the timestamp only once a signature matched, so "stale" always means "genuine but old".
 */
export function verifyStripeSignature(rawBody: Buffer, header: string | undefined, secrets: readonly string[]): unknown {
  if (!header) throw new WebhookSignatureError('missing');
  let stale = false;
  for (const secret of secrets) {
    try {
      return Stripe.webhooks.constructEvent(rawBody, header, secret, SIGNATURE_TOLERANCE_SECONDS);
    } catch (err) {
      if (err instanceof SyntaxError) throw new WebhookPayloadNotJsonError();
      if (!(err instanceof Stripe.errors.StripeSignatureVerificationError)) throw err;
      if (err.message === STALE_MESSAGE) stale = true;
    }
  }
  throw new WebhookSignatureError(stale ? 'stale' : 'invalid');
}
