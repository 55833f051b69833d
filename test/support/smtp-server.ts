import type { AddressInfo } from 'node:net';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';

export type SmtpServer = {
  url: string;
  messages: ParsedMail[];
  /** The next `n` messages are refused with a temporary failure (451). */
  failNext(n: number): void;
  /** The first message to `to` (and matching `subject`, if given) that arrives within `ms`. */
  next(to: string, subject?: string | RegExp, ms?: number): Promise<ParsedMail>;
  close(): Promise<void>;
};

/**
 * A real SMTP server (the `smtp-server` package) on a loopback port, keeping every message it
 * accepts, parsed (mailparser): what a mail client would show, links and all.
 */
export async function startSmtpServer(): Promise<SmtpServer> {
  const messages: ParsedMail[] = [];
  let failures = 0;
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, _session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        if (failures > 0) {
          failures--;
          return callback(Object.assign(new Error('try again later'), { responseCode: 451 }));
        }
        simpleParser(Buffer.concat(chunks))
          .then((m) => {
            messages.push(m);
            callback();
          })
          .catch((err: Error) => callback(err));
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.server.address() as AddressInfo).port;
  const matches = (m: ParsedMail, to: string, subject?: string | RegExp) => {
    const address = (Array.isArray(m.to) ? m.to : [m.to]).flatMap((a) => a?.value ?? []).map((v) => v.address);
    const okSubject =
      subject === undefined || (typeof subject === 'string' ? m.subject === subject : subject.test(m.subject ?? ''));
    return address.includes(to) && okSubject;
  };
  return {
    url: `smtp://127.0.0.1:${port}`,
    messages,
    failNext(n) {
      failures = n;
    },
    async next(to, subject, ms = 20_000) {
      const end = Date.now() + ms;
      for (;;) {
        const found = messages.find((m) => matches(m, to, subject));
        if (found) return found;
        if (Date.now() > end)
          throw new Error(`no mail to ${to}${subject ? ` (${String(subject)})` : ''} within ${ms} ms`);
        await new Promise((r) => setTimeout(r, 25));
      }
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** The token of the first link in a mail's text whose path is `path` (e.g. /verify-email). */
export function tokenFrom(mail: ParsedMail, path: string): string {
  const match = new RegExp(`https?://[^\\s]+${path}\\?token=([A-Za-z0-9_-]+)`).exec(mail.text ?? '');
  if (!match) throw new Error(`no ${path} link in: ${mail.text}`);
  return match[1];
}
