/**
 * node:http plumbing for one request/response pair: reading and decoding the
 * request, answering, dropping the connection, and noticing when the client
 * goes away before it was answered.
 */
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { ApiResponse } from './api-response.js';
import { parseFormBody, type FormObject } from './form-body.js';

export interface ApiRequest {
  readonly method: string;
  readonly path: string;
  readonly query: FormObject;
  readonly body: FormObject;
  /** From `Authorization: Bearer <key>` (or HTTP basic auth's user name). */
  readonly apiKey: string | undefined;
  readonly idempotencyKey: string | undefined;
  readonly stripeVersion: string | undefined;
}

const MAX_BODY_BYTES = 1024 * 1024;

export class HttpExchange {
  private readonly controller = new AbortController();

  constructor(
    private readonly req: IncomingMessage,
    private readonly res: ServerResponse,
  ) {
    res.once('close', () => {
      if (!res.writableFinished) this.controller.abort();
    });
  }

  /** Aborts when the client disconnects unanswered or the server shuts down. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  cancel(): void {
    this.controller.abort();
  }

  async readRequest(): Promise<ApiRequest> {
    const url = new URL(this.req.url ?? '/', 'http://fake-stripe.invalid');
    const rawBody = await this.readBody();
    return {
      method: (this.req.method ?? 'GET').toUpperCase(),
      path: url.pathname,
      query: parseFormBody(url.search.slice(1)),
      body: parseFormBody(rawBody),
      apiKey: apiKeyFrom(this.req.headers),
      idempotencyKey: singleHeader(this.req.headers['idempotency-key']),
      stripeVersion: singleHeader(this.req.headers['stripe-version']),
    };
  }

  /** Returns false when there was nobody left to answer. */
  send(response: ApiResponse, extraHeaders: Readonly<Record<string, string>> = {}): boolean {
    if (this.signal.aborted || this.res.headersSent) return false;
    this.res.writeHead(response.status, {
      'Content-Type': 'application/json',
      'Content-Length': String(Buffer.byteLength(response.body)),
      ...response.headers,
      ...extraHeaders,
    });
    this.res.end(response.body);
    return true;
  }

  /** Destroys the connection without answering (a lost response). */
  drop(): void {
    this.req.socket.destroy();
  }

  private async readBody(): Promise<string> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of this.req) {
      const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
      size += buffer.length;
      if (size > MAX_BODY_BYTES) throw new Error('fake-stripe: request body too large');
      chunks.push(buffer);
    }
    return Buffer.concat(chunks).toString('utf8');
  }
}

function singleHeader(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function apiKeyFrom(headers: IncomingHttpHeaders): string | undefined {
  const authorization = headers.authorization;
  if (authorization === undefined) return undefined;
  const [scheme = '', credentials = ''] = authorization.split(/\s+/, 2);
  if (scheme.toLowerCase() === 'bearer') return credentials;
  if (scheme.toLowerCase() === 'basic') return Buffer.from(credentials, 'base64').toString('utf8').split(':')[0];
  return undefined;
}
