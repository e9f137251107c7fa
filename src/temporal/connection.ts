import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { readFileSync } from 'node:fs';

export interface TemporalTarget {
  address: string;
  namespace: string;
  /** Temporal Cloud API key (TEMPORAL_API_KEY). */
  apiKey?: string | undefined;
  /** mTLS client certificate (TEMPORAL_TLS_CERT_PATH / TEMPORAL_TLS_KEY_PATH). */
  tls?: { certPath: string; keyPath: string } | undefined;
}

const tlsOptions = (t: TemporalTarget) =>
  t.tls
    ? { clientCertPair: { crt: readFileSync(t.tls.certPath), key: readFileSync(t.tls.keyPath) } }
    : t.apiKey
      ? true
      : undefined;

export class TemporalUnreachableError extends Error {
  override readonly name = 'TemporalUnreachableError';
}

/** A client connection (API, CLI, activities that start workflows) with a bounded connect timeout. */
export async function connectClient(t: TemporalTarget): Promise<{ connection: Connection; client: Client }> {
  try {
    const connection = await Connection.connect({
      address: t.address,
      connectTimeout: 5_000,
      ...(tlsOptions(t) !== undefined ? { tls: tlsOptions(t) } : {}),
      ...(t.apiKey ? { apiKey: t.apiKey } : {}),
    });
    return { connection, client: new Client({ connection, namespace: t.namespace }) };
  } catch (err) {
    throw new TemporalUnreachableError(`cannot reach Temporal at TEMPORAL_ADDRESS (${t.address}): ${(err as Error).message}`);
  }
}

/** The worker's native (Rust core) connection. */
export async function connectWorker(t: TemporalTarget): Promise<NativeConnection> {
  try {
    return await NativeConnection.connect({
      address: t.address,
      ...(tlsOptions(t) !== undefined ? { tls: tlsOptions(t) } : {}),
      ...(t.apiKey ? { apiKey: t.apiKey } : {}),
    });
  } catch (err) {
    throw new TemporalUnreachableError(`cannot reach Temporal at TEMPORAL_ADDRESS (${t.address}): ${(err as Error).message}`);
  }
}
