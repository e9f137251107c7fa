import { PayconfirmClient, PayconfirmError, PayconfirmNetworkError } from '../client/index.js';
import { CliFailure, EXIT, UsageError } from './cli-errors.js';
import type { CliIo } from './output.js';

export const DEFAULT_API_URL = 'http://127.0.0.1:3000';

/**
 * The typed client for commands that go through the HTTP API (confirm, debit, refund): --api-url or
 * PAYCONFIRM_API_URL, --api-key or PAYCONFIRM_API_KEY (prefer the env: arguments show in ps).
 */
export function apiClientFrom(values: { 'api-url'?: string | undefined; 'api-key'?: string | undefined }, io: CliIo, needs: string): PayconfirmClient {
  const baseUrl = values['api-url'] ?? io.env.PAYCONFIRM_API_URL ?? DEFAULT_API_URL;
  if (!URL.canParse(baseUrl) || !/^https?:/.test(baseUrl)) throw new UsageError(`the API URL must be http(s)://…, got ${JSON.stringify(baseUrl)}`);
  const apiKey = values['api-key'] ?? io.env.PAYCONFIRM_API_KEY;
  if (!apiKey) throw new CliFailure(`PAYCONFIRM_API_KEY (or --api-key) is required: the API key of ${needs}`, EXIT.failure);
  return new PayconfirmClient({ baseUrl, apiKey });
}

/** An API error as the CLI ends with it: exit 4 for an answer of the API, 1 when no answer came. */
export function failureOf(err: PayconfirmError, json: boolean): CliFailure {
  const body = { error: { code: err.code, message: err.message, httpStatus: err.httpStatus, requestId: err.requestId } };
  const where = err.httpStatus ? ` (HTTP ${err.httpStatus}${err.requestId ? `, request ${err.requestId}` : ''})` : '';
  const exit = err instanceof PayconfirmNetworkError ? EXIT.failure : EXIT.refused;
  return new CliFailure(`${err.code}${where}: ${err.message}`, exit, json ? body : undefined);
}

/** Runs a client call, turning its API errors into the CLI's failures. */
export async function viaApi<T>(call: () => Promise<T>, json: boolean): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (err instanceof PayconfirmError) throw failureOf(err, json);
    throw err;
  }
}
