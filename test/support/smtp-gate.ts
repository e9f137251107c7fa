import { connect, createServer, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy in front of a real SMTP server that counts the messages passing through it (each DATA section's
 * end, `<CRLF>.<CRLF>`) and, when armed, holds back the server's answer to the next message (its 250) until the
 * test releases it: the server has the message, the sender does not know yet. Nothing above TCP is simulated.
 */
export interface SmtpGate {
  /** `smtp://127.0.0.1:<port>`: the SMTP_URL to give the sender. */
  readonly url: string;
  /** Messages the sender finished sending through the gate (whatever the server did with them). */
  messagesSent(): number;
  /** Holds the server's answer to the next message's end of data. */
  holdNextAnswer(): void;
  /** True while an answer is held. */
  holding(): boolean;
  /** Lets a held answer (and whatever followed it) through. */
  release(): void;
  close(): Promise<void>;
}

const END_OF_DATA = Buffer.from('\r\n.\r\n');

export async function startSmtpGate(target: string): Promise<SmtpGate> {
  const { hostname, port } = new URL(target);
  const open = new Set<Socket>();
  let sent = 0;
  let armed = false;
  let held: { release(): void } | null = null;

  const server: Server = createServer((client) => {
    const upstream = connect(Number(port), hostname);
    let tail = Buffer.alloc(0);
    let holdingThis = false;
    const chunks: Buffer[] = [];
    const letThrough = () => {
      holdingThis = false;
      for (const c of chunks.splice(0)) client.write(c);
      if (upstream.readableEnded) client.end();
    };
    for (const s of [client, upstream]) {
      open.add(s);
      s.on('close', () => open.delete(s));
      s.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.on('data', (chunk: Buffer) => {
      const seen = Buffer.concat([tail, chunk]);
      let from = 0;
      for (let i = seen.indexOf(END_OF_DATA, from); i !== -1; i = seen.indexOf(END_OF_DATA, from)) {
        sent++;
        from = i + END_OF_DATA.length;
        if (armed) {
          armed = false;
          holdingThis = true;
          held = { release: letThrough };
        }
      }
      tail = seen.subarray(Math.max(from, seen.length - (END_OF_DATA.length - 1)));
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => (holdingThis ? chunks.push(chunk) : client.write(chunk)));
    upstream.on('end', () => (holdingThis ? undefined : client.end()));
    client.on('end', () => upstream.end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port: gatePort } = server.address() as { port: number };
  return {
    url: `smtp://127.0.0.1:${gatePort}`,
    messagesSent: () => sent,
    holdNextAnswer() {
      armed = true;
    },
    holding: () => held !== null,
    release() {
      const h = held;
      held = null;
      h?.release();
    },
    async close() {
      for (const s of open) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
