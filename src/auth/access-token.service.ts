import { randomUUID } from 'node:crypto';
import { errors, jwtVerify, SignJWT, type JWTPayload } from 'jose';
import { Role } from '../entities/enums.js';
import type { AuthConfig } from './auth.config.js';
import { AuthFailure, unauthenticated } from './auth.errors.js';
import { ALLOWED_ALGS, type JwtKeySet } from './jwt-key-set.js';

const TOKEN_TYPE = 'at+jwt';
const ROLES = new Set<string>(Object.values(Role));

export type AccessTokenClaims = { userId: string; role: Role; expiresAt: Date };

/**
 * Short-lived access JWTs (RFC 9068 shape: `typ: at+jwt`, iss, aud, sub, exp, iat, jti, kid).
 * Verification needs no database: the role travels in the token and is refreshed with it.
 */
export class AccessTokenService {
  private keySet?: Promise<JwtKeySet>;
  /**
   * Tokens already verified, by their exact text (any change to a token is a different key), so
   * a client's repeated requests pay for the signature once: bounded, oldest out first, and an
   * entry is used only until the token's own expiry.
   */
  private readonly verified = new Map<string, AccessTokenClaims>();
  private static readonly CACHE_MAX = 10_000;

  constructor(
    private readonly config: AuthConfig['jwt'],
    private readonly loadKeys: () => Promise<JwtKeySet>,
  ) {}

  /** The key set, loaded once on first use (services are built synchronously). */
  keys(): Promise<JwtKeySet> {
    this.keySet ??= this.loadKeys();
    return this.keySet;
  }

  get ttlSeconds(): number {
    return this.config.accessTtlSeconds;
  }

  async issue(user: { id: string; role: Role }, now = new Date()): Promise<{ token: string; expiresAt: Date }> {
    const { signing } = await this.keys();
    const iat = Math.floor(now.getTime() / 1000);
    const exp = iat + this.config.accessTtlSeconds;
    const token = await new SignJWT({ role: user.role })
      .setProtectedHeader({ alg: signing.alg, kid: signing.kid, typ: TOKEN_TYPE })
      .setIssuer(this.config.issuer)
      .setAudience(this.config.audience)
      .setSubject(user.id)
      .setIssuedAt(iat)
      .setExpirationTime(exp)
      .setJti(randomUUID())
      .sign(signing.signKey);
    return { token, expiresAt: new Date(exp * 1000) };
  }

  /** Throws UNAUTHENTICATED (reason TOKEN_EXPIRED or INVALID_TOKEN) unless every check passes. */
  async verify(token: string): Promise<AccessTokenClaims> {
    const hit = this.verified.get(token);
    if (hit) {
      if (hit.expiresAt.getTime() > Date.now()) return hit;
      this.verified.delete(token);
      throw unauthenticated(AuthFailure.TOKEN_EXPIRED);
    }
    const claims = await this.verifySignatureAndClaims(token);
    if (this.verified.size >= AccessTokenService.CACHE_MAX) {
      this.verified.delete(this.verified.keys().next().value as string);
    }
    this.verified.set(token, claims);
    return claims;
  }

  private async verifySignatureAndClaims(token: string): Promise<AccessTokenClaims> {
    const keySet = await this.keys();
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(
        token,
        (header) => {
          const key = keySet.verificationKey(header.kid, header.alg);
          if (!key) throw new errors.JWKSNoMatchingKey();
          return key.key;
        },
        {
          issuer: this.config.issuer,
          audience: this.config.audience,
          algorithms: ALLOWED_ALGS,
          typ: TOKEN_TYPE,
          requiredClaims: ['sub', 'exp', 'iat'],
          clockTolerance: 5,
        },
      ));
    } catch (err) {
      if (err instanceof errors.JWTExpired) throw unauthenticated(AuthFailure.TOKEN_EXPIRED);
      throw unauthenticated(AuthFailure.INVALID_TOKEN);
    }
    const role = payload.role;
    if (typeof role !== 'string' || !ROLES.has(role) || typeof payload.sub !== 'string') {
      throw unauthenticated(AuthFailure.INVALID_TOKEN);
    }
    return { userId: payload.sub, role: role as Role, expiresAt: new Date((payload.exp as number) * 1000) };
  }
}
