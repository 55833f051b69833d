import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import nodemailer from 'nodemailer';
import type { Logger } from '../shared/logger.js';
import type { MailSettings } from './mail.config.js';

export type OutgoingMail = { id: string; to: string; subject: string; text: string; html: string };

/** Delivers one rendered mail; throws when the server refuses it or cannot be reached. */
export type MailTransport = { send(mail: OutgoingMail): Promise<void>; close(): void };

/**
 * SMTP through nodemailer (STARTTLS when the server offers it, smtps:// for implicit TLS), or on
 * the embedded default a folder of .eml files — the same MIME message nodemailer would send,
 * which any mail client opens — with a log line naming each, so that `npm start` needs no mail
 * server and a developer can still follow a verification link. The Message-ID is the outbox
 * row's id: a mail retried after a crash between sending and recording it is recognisable.
 */
export function createMailTransport(settings: MailSettings['mail'], logger: Pick<Logger, 'info'>): MailTransport {
  const message = (m: OutgoingMail) => ({
    from: settings.from,
    to: m.to,
    subject: m.subject,
    text: m.text,
    html: m.html,
    messageId: `<${m.id}@model-marketplace>`,
  });
  const t = settings.transport;
  if (t.kind === 'smtp') {
    const smtp = nodemailer.createTransport(t.url, {
      connectionTimeout: 10_000,
      greetingTimeout: 10_000,
      socketTimeout: 30_000,
    });
    return {
      async send(m) {
        await smtp.sendMail(message(m));
      },
      close: () => smtp.close(),
    };
  }
  if (t.kind === 'log') {
    return {
      async send(m) {
        logger.info({ to: m.to, subject: m.subject, text: m.text }, 'mail (not sent: no SMTP_URL, throwaway DATA_DIR)');
      },
      close: () => undefined,
    };
  }
  const files = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'unix' });
  return {
    async send(m) {
      const info = await files.sendMail(message(m));
      await mkdir(t.dir, { recursive: true });
      const file = join(t.dir, `${new Date().toISOString().replace(/[:.]/g, '-')}-${m.id}.eml`);
      await writeFile(file, info.message as Buffer, { mode: 0o600 });
      logger.info({ to: m.to, subject: m.subject, file }, 'mail written (no SMTP_URL set)');
    },
    close: () => files.close(),
  };
}
