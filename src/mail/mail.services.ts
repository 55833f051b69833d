import type { EntityManager } from '@mikro-orm/postgresql';
import type { Logger } from '../shared/logger.js';
import type { MailSettings } from './mail.config.js';
import { MailOutbox } from './mail-outbox.js';
import { MailSender } from './mail-sender.js';
import { createMailTransport } from './mail-transport.js';

/**
 * The outbox and its sender, wired once: whatever writes mail sends it from this process as
 * soon as its transaction commits; the job processes also poll for mail due (retries, and mail
 * written by processes that were stopped first).
 */
export function createMailServices(config: MailSettings, deps: { fork: () => EntityManager; logger: Logger }) {
  const logger = deps.logger.child({ component: 'mail' });
  const transport = createMailTransport(config.mail, logger);
  const sender = new MailSender({
    fork: deps.fork,
    transport,
    attempts: config.mail.attempts,
    backoffMs: config.mail.backoffMs,
    logger,
  });
  return { outbox: new MailOutbox(() => sender.kick()), sender, transport };
}

export type MailServices = ReturnType<typeof createMailServices>;
