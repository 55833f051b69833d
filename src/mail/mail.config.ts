import { z } from 'zod';
import { secret } from '../shared/config-secret.js';
import { url } from '../shared/config-url.js';

/**
 * Account mail: where it goes (an SMTP server, or on the embedded default a folder of .eml
 * files, so that `npm start` needs none), who it is from, where its links point, how hard the
 * outbox tries, and whether an unverified address limits the account.
 */
export const MAIL_ENV = {
  /** smtp://user:pass@host:587 (STARTTLS when offered) or smtps://…:465; unset: files under DATA_DIR/mail. */
  SMTP_URL: secret(url(['smtp:', 'smtps:']).optional()),
  MAIL_FROM: z.string().min(3).max(320).default('Model Marketplace <no-reply@localhost>'),
  /** The front end that opens mailed links: `<base>/verify-email?token=…`, `<base>/reset-password?token=…`. */
  MAIL_LINK_BASE_URL: z.url().default('http://localhost:4000'),
  MAIL_ATTEMPTS: z.coerce.number().int().min(1).max(30).default(8),
  /** First retry delay; doubled each time (8 attempts: about 21 minutes in all at 5 s). */
  MAIL_BACKOFF_MS: z.coerce.number().int().min(1).max(3_600_000).default(5000),
  /** How often the outbox is read for mail due (the process that wrote one sends it at once). */
  MAIL_POLL_MS: z.coerce.number().int().min(50).max(600_000).default(5000),
  /**
   * `required`: until its address is verified an account may browse and run free models, but
   * not run paid ones or publish. `optional`: verification is offered, nothing waits on it.
   */
  EMAIL_VERIFICATION: z.enum(['optional', 'required']).default('optional'),
} as const;

type MailEnv = z.output<z.ZodObject<typeof MAIL_ENV>> & { DATA_DIR: string };

export type MailSettings = {
  mail: {
    /** `log`: a throwaway data dir (`memory://`, tests and schema builds): mail is logged, not kept. */
    transport: { kind: 'smtp'; url: string } | { kind: 'files'; dir: string } | { kind: 'log' };
    from: string;
    linkBaseUrl: string;
    attempts: number;
    backoffMs: number;
    pollMs: number;
    verificationRequired: boolean;
  };
};

export function mailConfigFrom(e: MailEnv): MailSettings {
  return {
    mail: {
      transport: e.SMTP_URL
        ? { kind: 'smtp', url: e.SMTP_URL }
        : e.DATA_DIR.startsWith('memory://')
          ? { kind: 'log' }
          : { kind: 'files', dir: `${e.DATA_DIR}/mail` },
      from: e.MAIL_FROM,
      linkBaseUrl: e.MAIL_LINK_BASE_URL.replace(/\/+$/, ''),
      attempts: e.MAIL_ATTEMPTS,
      backoffMs: e.MAIL_BACKOFF_MS,
      pollMs: e.MAIL_POLL_MS,
      verificationRequired: e.EMAIL_VERIFICATION === 'required',
    },
  };
}
