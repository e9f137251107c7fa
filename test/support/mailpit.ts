import { join } from 'node:path';
import { inject } from 'vitest';
import { ensureTool, MAILPIT } from '../../src/dev/go-tools.js';
import { startMailpit, type MailpitOptions, type RunningMailpit } from '../../src/dev/mailpit.js';
import { uniqueSuffix } from './test-context.js';

/** A real Mailpit on free ports (per test file), with its HTTP API read as the tests need it. */
export interface TestMailpit extends RunningMailpit {
  messages(): Promise<MailpitMessage[]>;
  /** The stored messages with this Message-ID (given with or without `<>`). */
  withMessageId(messageId: string): Promise<MailpitMessage[]>;
  body(id: string): Promise<{ Text: string; MessageID: string; Subject: string }>;
  /** SMTP transactions since start: accepted (stored), ignored (a duplicate Message-ID, with --ignore-duplicate-ids). */
  smtpStats(): Promise<{ accepted: number; ignored: number; rejected: number }>;
}

export interface MailpitMessage {
  ID: string;
  MessageID: string;
  From: { Name: string; Address: string };
  To: { Name: string; Address: string }[];
  Subject: string;
}

export async function startTestMailpit(opts: Pick<MailpitOptions, 'ignoreDuplicateIds' | 'smtpAuth' | 'smtpTls'>): Promise<TestMailpit> {
  const mailpit = await startMailpit({
    ...opts,
    binaryPath: await ensureTool(MAILPIT),
    logFile: join(inject('runDir'), `mailpit-${uniqueSuffix()}.log`),
  });
  const get = async <T>(path: string): Promise<T> => {
    const res = await fetch(`${mailpit.httpUrl}${path}`, { signal: AbortSignal.timeout(5_000) });
    if (!res.ok) throw new Error(`Mailpit GET ${path}: HTTP ${res.status}`);
    return (await res.json()) as T;
  };
  const messages = async () => (await get<{ messages: MailpitMessage[] }>('/api/v1/messages?limit=1000')).messages;
  return {
    ...mailpit,
    messages,
    async withMessageId(messageId) {
      const bare = messageId.replace(/^<|>$/g, '');
      return (await messages()).filter((m) => m.MessageID === bare);
    },
    body: (id) => get(`/api/v1/message/${encodeURIComponent(id)}`),
    async smtpStats() {
      const info = await get<{ RuntimeStats: { SMTPAccepted: number; SMTPIgnored: number; SMTPRejected: number } }>('/api/v1/info');
      return { accepted: info.RuntimeStats.SMTPAccepted, ignored: info.RuntimeStats.SMTPIgnored, rejected: info.RuntimeStats.SMTPRejected };
    },
  };
}
