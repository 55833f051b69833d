import { defineEntity, p } from '@mikro-orm/core';
import { createdAt, updatedAt, uuidPrimaryKey } from './columns.js';
import { MailStatus } from './enums.js';

/**
 * A mail to send, written in the same transaction as what caused it (a registration, a reset
 * request), so that a mail is sent if and only if its cause committed. Rendered when written:
 * what is sent is what was true then. A job sends due rows with retries and backoff
 * (mail-sender.ts); `dedupeKey` makes a repeated cause (a double-clicked "resend") one mail.
 */
const OutboxMailSchema = defineEntity({
  name: 'OutboxMail',
  tableName: 'mail_outbox',
  properties: {
    id: uuidPrimaryKey(),
    to: p.string().length(320),
    template: p.string().length(64),
    subject: p.string().length(300),
    text: p.text(),
    html: p.text(),
    dedupeKey: p.string().length(200).unique(),
    status: p.enum(() => MailStatus).default(MailStatus.PENDING),
    attempts: p.integer().default(0),
    nextAttemptAt: p.datetime(),
    lastError: p.text().nullable(),
    sentAt: p.datetime().nullable(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  indexes: [{ name: 'mail_outbox_due_index', properties: ['status', 'nextAttemptAt'] }],
});

export class OutboxMail extends OutboxMailSchema.class {}
OutboxMailSchema.setClass(OutboxMail);
