import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';

/**
 * A team service receiving payconfirm's outgoing notifications, as a receiver would write it: a real HTTP server
 * that verifies every request with the `standardwebhooks` library (`Webhook.verify`: signature and timestamp
 * tolerance), answers what `answer` says, and keeps what it saw. Deduplication by `webhook-id` is the receiver's job:
 * `accepted` holds each id it answered 2xx for, with how often (exactly once is what payconfirm promises).
 */
export interface ReceivedRequest {
  id: string;
  timestamp: string;
  signature: string;
  body: string;
  /** Verified by standardwebhooks. */
  verified: boolean;
  verifyError: string | null;
  /** 1-based: the n-th request with this webhook-id. */
  attempt: number;
  status: number;
  receivedAtMs: number;
}

export type Answer = number | { status: number; headers?: Record<string, string> };

export interface NotificationReceiver {
  url: string;
  requests: ReceivedRequest[];
  /** webhook-id → times answered 2xx. */
  accepted: Map<string, number>;
  /** What to answer the `attempt`-th request for `id` (verified requests only; a bad signature gets 400). */
  answer: (id: string, attempt: number) => Answer;
  requestsFor(id: string): ReceivedRequest[];
  close(): Promise<void>;
}

const readBody = (req: IncomingMessage): Promise<string> =>
  new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });

export async function startNotificationReceiver(secret: string, answer: NotificationReceiver['answer']): Promise<NotificationReceiver> {
  const webhook = new Webhook(secret);
  const requests: ReceivedRequest[] = [];
  const accepted = new Map<string, number>();
  const attempts = new Map<string, number>();
  const server = createServer((req, res) => {
    void readBody(req).then((body) => {
      const header = (name: string) => String(req.headers[name] ?? '');
      const id = header('webhook-id');
      const attempt = (attempts.get(id) ?? 0) + 1;
      attempts.set(id, attempt);
      let verifyError: string | null = null;
      try {
        webhook.verify(body, { 'webhook-id': id, 'webhook-timestamp': header('webhook-timestamp'), 'webhook-signature': header('webhook-signature') });
      } catch (err) {
        verifyError = (err as Error).message;
      }
      const given = verifyError ? 400 : receiver.answer(id, attempt);
      const { status, headers = {} } = typeof given === 'number' ? { status: given } : given;
      if (status >= 200 && status < 300) accepted.set(id, (accepted.get(id) ?? 0) + 1);
      requests.push({
        id,
        timestamp: header('webhook-timestamp'),
        signature: header('webhook-signature'),
        body,
        verified: verifyError === null,
        verifyError,
        attempt,
        status,
        receivedAtMs: Date.now(),
      });
      res.writeHead(status, { 'content-type': 'text/plain', ...headers }).end(status >= 300 ? `refused attempt ${attempt}` : 'ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const receiver: NotificationReceiver = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/payconfirm`,
    requests,
    accepted,
    answer,
    requestsFor: (id) => requests.filter((r) => r.id === id),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return receiver;
}

/** A Standard Webhooks secret: `whsec_` + base64 of 32 random bytes. */
export const newNotificationSecret = (): string => `whsec_${Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('base64')}`;
