import { randomBytes, randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { AccountToken } from '../entities/account-token.entity.js';
import { AccountTokenPurpose } from '../entities/enums.js';
import { badInput } from '../shared/errors.js';
import { sha256Hex } from './secrets.js';

const PREFIX: Record<AccountTokenPurpose, string> = {
  [AccountTokenPurpose.VERIFY_EMAIL]: 'aimve_',
  [AccountTokenPurpose.RESET_PASSWORD]: 'aimpr_',
};
const PATTERN = /^aim(ve|pr)_[A-Za-z0-9_-]{43}$/;

/** One answer for a token that is malformed, unknown, for something else, expired or used. */
export const invalidAccountToken = () =>
  badInput('This link is invalid, has expired or was already used: ask for a new one', {
    field: 'token',
    reason: 'TOKEN_INVALID',
  });

/**
 * The single-use tokens mailed to an account (32 random bytes, stored as SHA-256). `consume`
 * takes one in a conditional update, so two uses racing cannot both pass, and runs inside the
 * caller's transaction: what the token was for commits with its use, or neither does.
 */
export class AccountTokens {
  async issue(em: EntityManager, userId: string, purpose: AccountTokenPurpose, ttlMs: number) {
    const token = `${PREFIX[purpose]}${randomBytes(32).toString('base64url')}`;
    const id = randomUUID();
    await em.insert(AccountToken, {
      id,
      user: userId,
      purpose,
      tokenHash: sha256Hex(token),
      expiresAt: new Date(Date.now() + ttlMs),
      createdAt: new Date(),
    });
    return { id, token };
  }

  /** The token's user id, the token now used; BAD_USER_INPUT (TOKEN_INVALID) otherwise. */
  async consume(em: EntityManager, presented: string, purpose: AccountTokenPurpose): Promise<string> {
    if (!PATTERN.test(presented) || !presented.startsWith(PREFIX[purpose])) throw invalidAccountToken();
    const row = await em.findOne(AccountToken, { tokenHash: sha256Hex(presented), purpose });
    if (!row || row.usedAt || row.expiresAt <= new Date()) throw invalidAccountToken();
    const won = await em.nativeUpdate(AccountToken, { id: row.id, usedAt: null }, { usedAt: new Date() });
    if (won !== 1) throw invalidAccountToken();
    return row.user.id;
  }
}
