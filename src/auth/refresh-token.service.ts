import { randomBytes, randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { RefreshToken } from '../entities/refresh-token.entity.js';
import { User } from '../entities/user.entity.js';
import { AuthFailure, unauthenticated } from './auth.errors.js';
import { sha256Hex } from './secrets.js';

const PREFIX = 'aimrt_';
const PATTERN = /^aimrt_[A-Za-z0-9_-]{43}$/;

/**
 * Opaque refresh tokens, stored as SHA-256 hashes. Every use rotates the token; presenting a
 * token that was already rotated (or revoked) is taken as theft and revokes the whole family,
 * i.e. every token descended from the same login (OAuth 2.0 Security BCP, refresh token rotation).
 */
export class RefreshTokenService {
  constructor(private readonly options: { ttlDays: number }) {}

  /** A new family (a login). */
  async issue(em: EntityManager, userId: string): Promise<{ token: string; expiresAt: Date }> {
    return this.insert(em, userId, randomUUID());
  }

  /**
   * Exchanges a token for a new one of the same family; returns the user it belongs to. The
   * exchange is one conditional UPDATE, so two concurrent uses of one token cannot both win:
   * the loser sees a reused token and the family is revoked.
   */
  async rotate(em: EntityManager, presented: string): Promise<{ user: User; token: string; expiresAt: Date }> {
    const row = await this.find(em, presented);
    if (!row) throw unauthenticated(AuthFailure.INVALID_REFRESH_TOKEN);
    if (row.revokedAt || row.replacedById) {
      await this.revokeFamily(em, row.family);
      throw unauthenticated(AuthFailure.REFRESH_TOKEN_REUSED);
    }
    if (row.expiresAt <= new Date()) throw unauthenticated(AuthFailure.INVALID_REFRESH_TOKEN);
    const user = await em.findOne(User, { id: row.user.id, deletedAt: null });
    if (!user) throw unauthenticated(AuthFailure.INVALID_REFRESH_TOKEN);

    const nextId = randomUUID();
    const won = await em.nativeUpdate(
      RefreshToken,
      { id: row.id, revokedAt: null, replacedById: null },
      { revokedAt: new Date(), replacedById: nextId },
    );
    if (won !== 1) {
      await this.revokeFamily(em, row.family);
      throw unauthenticated(AuthFailure.REFRESH_TOKEN_REUSED);
    }
    const next = await this.insert(em, user.id, row.family, nextId);
    return { user, ...next };
  }

  /** Logout: revokes the token's whole family. Unknown tokens are ignored (no oracle). */
  async revoke(em: EntityManager, presented: string): Promise<void> {
    const row = await this.find(em, presented);
    if (row) await this.revokeFamily(em, row.family);
  }

  /** Ends every session of a user (a password reset or change, an account deleted). */
  async revokeAllOf(em: EntityManager, userId: string): Promise<number> {
    return em.nativeUpdate(RefreshToken, { user: userId, revokedAt: null }, { revokedAt: new Date() });
  }

  async revokeFamily(em: EntityManager, family: string): Promise<number> {
    return em.nativeUpdate(RefreshToken, { family, revokedAt: null }, { revokedAt: new Date() });
  }

  private async find(em: EntityManager, presented: string): Promise<RefreshToken | null> {
    if (!PATTERN.test(presented)) return null;
    return em.findOne(RefreshToken, { tokenHash: sha256Hex(presented) });
  }

  private async insert(
    em: EntityManager,
    userId: string,
    family: string,
    id: string = randomUUID(),
  ): Promise<{ token: string; expiresAt: Date }> {
    const token = `${PREFIX}${randomBytes(32).toString('base64url')}`;
    const expiresAt = new Date(Date.now() + this.options.ttlDays * 86_400_000);
    await em.insert(RefreshToken, {
      id,
      user: userId,
      family,
      tokenHash: sha256Hex(token),
      expiresAt,
      createdAt: new Date(),
    });
    return { token, expiresAt };
  }
}
