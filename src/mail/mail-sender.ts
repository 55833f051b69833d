import type { EntityManager } from '@mikro-orm/postgresql';
import { MailStatus } from '../entities/enums.js';
import type { Logger } from '../shared/logger.js';
import type { MailTransport } from './mail-transport.js';

/** A claimed row is left alone by other senders this long (then it is due again: a sender died). */
const LEASE_MS = 5 * 60_000;
const BATCH = 20;

type Due = { id: string; to: string; subject: string; text: string; html: string; attempts: number };

/**
 * Sends the outbox's due mail. A batch is claimed in one short transaction (`for update skip
 * locked`, then its next attempt pushed past a lease), so any number of processes send without
 * sending one mail twice; a process that dies while sending leaves its rows due again once the
 * lease ends (at least once, never lost). A refusal is retried with exponential backoff until
 * `attempts`, then the mail is FAILED with the last error.
 */
export class MailSender {
  private running: Promise<void> | null = null;
  private again = false;
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly deps: {
      fork: () => EntityManager;
      transport: MailTransport;
      attempts: number;
      backoffMs: number;
      logger: Pick<Logger, 'warn' | 'error'>;
    },
  ) {}

  /** Sends what is due soon, coalescing calls (after a commit that added mail, on each poll). */
  kick(): void {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = (async () => {
      do {
        this.again = false;
        while ((await this.sendDue()) === BATCH) {
          // A full batch: there may be more.
        }
      } while (this.again);
    })()
      .catch((err: unknown) => this.deps.logger.warn({ err }, 'sending mail failed; the next poll retries'))
      .finally(() => {
        this.running = null;
      });
  }

  start(pollMs: number): void {
    this.timer = setInterval(() => this.kick(), pollMs);
    this.timer.unref();
    this.kick();
  }

  /** Stops polling and waits for a send in progress. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  /** Claims and sends one batch of due mail; returns how many were claimed. */
  async sendDue(): Promise<number> {
    const em = this.deps.fork();
    const due = await em.transactional(async (tx) => {
      const rows = await tx.execute<Due[]>(
        `select id, "to", subject, text, html, attempts from mail_outbox
         where status = ? and next_attempt_at <= now() order by next_attempt_at limit ? for update skip locked`,
        [MailStatus.PENDING, BATCH],
      );
      if (rows.length) {
        await tx.execute(
          `update mail_outbox set attempts = attempts + 1, next_attempt_at = now() + (? || ' milliseconds')::interval,
             updated_at = now() where id = any(?::uuid[])`,
          [String(LEASE_MS), `{${rows.map((r) => r.id).join(',')}}`],
        );
      }
      return rows;
    });
    for (const mail of due) await this.sendOne(em, mail);
    return due.length;
  }

  private async sendOne(em: EntityManager, mail: Due): Promise<void> {
    const attempt = mail.attempts + 1;
    try {
      await this.deps.transport.send(mail);
      await em.execute(
        `update mail_outbox set status = ?, sent_at = now(), last_error = null, updated_at = now() where id = ?`,
        [MailStatus.SENT, mail.id],
      );
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      const final = attempt >= this.deps.attempts;
      const delayMs = this.deps.backoffMs * 2 ** (attempt - 1);
      await em.execute(
        `update mail_outbox set status = ?, last_error = ?, updated_at = now(),
           next_attempt_at = now() + (? || ' milliseconds')::interval where id = ?`,
        [final ? MailStatus.FAILED : MailStatus.PENDING, message.slice(0, 2000), String(delayMs), mail.id],
      );
      const log = { err, mailId: mail.id, attempt, of: this.deps.attempts };
      if (final) this.deps.logger.error(log, 'mail could not be sent: giving up');
      else this.deps.logger.warn({ ...log, retryInMs: delayMs }, 'mail not sent: will retry');
    }
  }
}
