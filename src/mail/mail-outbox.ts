import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { RenderedMail } from './mail-templates.js';

/**
 * Writes mail into the outbox inside the caller's unit of work: it is sent if and only if the
 * caller's transaction commits. A mail whose `dedupeKey` is already there is not added again
 * (`on conflict do nothing`), so a cause that repeats within its key's window sends one mail.
 * Returns whether a row was added. `onAdded` lets this process send at once, after the commit.
 */
export class MailOutbox {
  constructor(private readonly onAdded: () => void = () => undefined) {}

  async add(
    em: EntityManager,
    mail: RenderedMail & { to: string; template: string; dedupeKey: string },
  ): Promise<boolean> {
    const rows = await em.execute<{ id: string }[]>(
      `insert into mail_outbox (id, "to", template, subject, text, html, dedupe_key, status, attempts, next_attempt_at, created_at, updated_at)
       values (?, ?, ?, ?, ?, ?, ?, 'PENDING', 0, now(), now(), now())
       on conflict (dedupe_key) do nothing returning id`,
      [randomUUID(), mail.to, mail.template, mail.subject, mail.text, mail.html, mail.dedupeKey],
    );
    return rows.length > 0;
  }

  /** Call after the transaction that added mail committed. */
  committed(): void {
    this.onAdded();
  }
}
