import type { EntityManager } from '@mikro-orm/postgresql';
import { AuthFailure, forbidden } from './auth.errors.js';

/**
 * EMAIL_VERIFICATION=required: refuses (FORBIDDEN, EMAIL_NOT_VERIFIED) an account whose address
 * is not confirmed yet. Publishing asks here; paid predictions are refused by metering, which
 * reads the same column in the query it runs anyway.
 */
export async function requireVerifiedEmail(em: EntityManager, userId: string, required: boolean): Promise<void> {
  if (!required) return;
  const [row] = await em.execute<{ verified: boolean }[]>(
    'select email_verified_at is not null as verified from users where id = ?',
    [userId],
  );
  if (!row?.verified) throw forbidden(AuthFailure.EMAIL_NOT_VERIFIED);
}
