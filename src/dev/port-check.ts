import { connect } from 'node:net';

/** True when something already accepts TCP connections on host:port. */
export function portInUse(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host });
    const done = (inUse: boolean) => {
      socket.destroy();
      resolve(inUse);
    };
    socket.setTimeout(500, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

export class PortInUseError extends Error {
  override readonly name = 'PortInUseError';
}

/** Fails with one clear line when a port the stack wants is taken (e.g. another Temporal or Postgres). */
export async function requireFreePort(port: number, what: string, envVar: string): Promise<void> {
  if (await portInUse(port)) {
    throw new PortInUseError(`port ${port} (${what}) is already in use; stop what holds it or set ${envVar} to another port`);
  }
}
