import { Webhook } from 'standardwebhooks';

/**
 * Standard Webhooks signatures (https://www.standardwebhooks.com), made by the spec's own reference library:
 * `webhook-signature: v1,<base64 HMAC-SHA256 of "{webhook-id}.{webhook-timestamp}.{body}">`, keyed by the secret
 * `whsec_<base64>` (NOTIFICATION_WEBHOOK_SECRET). Receivers verify with any Standard Webhooks library.
 */
export interface SignedHeaders {
  'webhook-id': string;
  'webhook-timestamp': string;
  'webhook-signature': string;
}

export type NotificationSigner = (id: string, at: Date, body: string) => SignedHeaders;

/** `whsec_` + base64 of 24 to 64 random bytes, as the spec recommends. */
export function isNotificationSecret(secret: string): boolean {
  const m = /^whsec_([A-Za-z0-9+/]+={0,2})$/.exec(secret);
  if (!m || m[1]!.length % 4 !== 0) return false;
  const bytes = Buffer.from(m[1]!, 'base64').length;
  return bytes >= 24 && bytes <= 64;
}

export function notificationSigner(secret: string): NotificationSigner {
  const webhook = new Webhook(secret);
  return (id, at, body) => ({
    'webhook-id': id,
    'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
    'webhook-signature': webhook.sign(id, at, body),
  });
}
