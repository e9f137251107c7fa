/**
 * The node:http server: accepts connections on 127.0.0.1:<free port>, hands
 * each request to the `RequestPipeline`, performs the resulting delivery and
 * tears everything down (held requests included) on `close()`.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { errorResponse, responseObjectId, type ApiResponse } from './api-response.js';
import { FakeStripeState } from './fake-stripe-state.js';
import { FaultInjector } from './fault-injector.js';
import { HttpExchange } from './http-exchange.js';
import { IdempotencyStore } from './idempotency-store.js';
import { newRequestId } from './ids.js';
import { RateLimiter, type RateLimits } from './rate-limiter.js';
import { RequestLog, type RequestLogEntry } from './request-log.js';
import { RequestPipeline, type Delivery } from './request-pipeline.js';
import { Router } from './router.js';
import { stripeRoutes } from './routes.js';
import { serverError } from './stripe-errors.js';

export interface FakeStripeServerConfig {
  readonly host: string;
  readonly apiKey: string;
  readonly apiVersion: string;
  readonly idempotencyWindowMs: number;
  readonly rateLimits?: RateLimits;
}

export class FakeStripeServer {
  readonly state = new FakeStripeState();
  readonly faults = new FaultInjector();
  readonly log = new RequestLog();
  private readonly idempotency: IdempotencyStore<ApiResponse>;
  private readonly pipeline: RequestPipeline;
  private readonly exchanges = new Set<HttpExchange>();
  private readonly http: Server;
  private closing: Promise<void> | undefined;

  private constructor(private readonly config: FakeStripeServerConfig) {
    this.idempotency = new IdempotencyStore(config.idempotencyWindowMs);
    this.pipeline = new RequestPipeline(config, {
      router: new Router(stripeRoutes(this.state)),
      faults: this.faults,
      idempotency: this.idempotency,
      ...(config.rateLimits ? { rateLimiter: new RateLimiter(config.rateLimits) } : {}),
    });
    this.http = createServer((req, res) => void this.handle(req, res));
  }

  static async listen(config: FakeStripeServerConfig): Promise<FakeStripeServer> {
    const server = new FakeStripeServer(config);
    await new Promise<void>((resolve, reject) => {
      server.http.once('error', reject);
      server.http.listen(0, config.host, () => {
        server.http.off('error', reject);
        resolve();
      });
    });
    return server;
  }

  get port(): number {
    return (this.http.address() as AddressInfo).port;
  }

  expireIdempotencyKeys(): void {
    this.idempotency.expireAll();
  }

  /** Forgets every saved idempotent result that is the object `id`, so its key executes afresh. */
  forgetSavedResponsesOf(id: string): void {
    this.idempotency.forgetWhere((response) => responseObjectId(response) === id);
  }

  /** Abandons held requests, closes every connection and stops listening. Idempotent. */
  close(): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      for (const exchange of this.exchanges) exchange.cancel();
      this.http.close(() => resolve());
      this.http.closeAllConnections();
    });
    return this.closing;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const exchange = new HttpExchange(req, res);
    this.exchanges.add(exchange);
    try {
      const request = await exchange.readRequest();
      const entry = this.log.record(request);
      deliver(exchange, entry, await this.pipeline.run(request, entry, exchange.signal));
    } catch (error) {
      const detail = error instanceof Error ? error.message : String(error);
      const context = { requestId: newRequestId(), stripeVersion: this.config.apiVersion };
      exchange.send(errorResponse(serverError(500, `fake-stripe internal error: ${detail}`), context));
    } finally {
      this.exchanges.delete(exchange);
    }
  }
}

function deliver(exchange: HttpExchange, entry: RequestLogEntry, delivery: Delivery): void {
  if (delivery.kind === 'drop') exchange.drop();
  if (delivery.kind !== 'answer' || !exchange.send(delivery.response, delivery.headers)) return;
  entry.status = delivery.response.status;
  const requestId = delivery.response.headers['Request-Id'];
  if (requestId !== undefined) entry.requestId = requestId;
}
