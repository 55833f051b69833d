import { z } from 'zod';
import { secret } from '../shared/config-secret.js';

/**
 * The access layer's settings: JWT keys and lifetimes, API keys and rate limits. src/config.ts spreads `AUTH_ENV` into its schema and calls `authConfigFrom`
 * so the whole environment is still parsed once, in one place, with one error format.
 */
const positiveInt = (fallback: number, max = 1_000_000_000) =>
  z.coerce.number().int().min(1).max(max).default(fallback);

/** `<requests>/<seconds>`: a bucket of `requests` tokens that refills completely in `seconds`. */
const rate = (fallback: string) =>
  z
    .string()
    .regex(/^\d+\/\d+(\.\d+)?$/, 'must look like <requests>/<seconds>, e.g. 300/60')
    .default(fallback)
    .transform((v) => {
      const [n, s] = v.split('/');
      return { capacity: Number(n), windowSeconds: Number(s) };
    })
    .refine((r) => r.capacity >= 1 && r.windowSeconds > 0, 'requests and seconds must be positive');

export const AUTH_ENV = {
  /** A JWK set (`{"keys":[…]}`) of private signing keys; the first (or JWT_ACTIVE_KID) signs. */
  JWT_PRIVATE_KEYS: secret(z.string().min(1).optional()),
  /** HMAC secrets as `kid:secret` pairs separated by commas; the first (or JWT_ACTIVE_KID) signs. */
  JWT_SECRET: secret(z.string().min(1).optional()),
  JWT_ACTIVE_KID: z.string().min(1).max(100).optional(),
  JWT_ISSUER: z.string().min(1).default('model-marketplace'),
  JWT_AUDIENCE: z.string().min(1).default('model-marketplace-api'),
  JWT_ACCESS_TTL_SECONDS: positiveInt(900, 24 * 3600),
  REFRESH_TOKEN_TTL_DAYS: positiveInt(30, 365),
  API_KEY_MAX_PER_USER: positiveInt(50, 1000),
  /** Coalesce API keys' `lastUsedAt` writes to at most one per key per this many seconds. */
  API_KEY_LAST_USED_WRITE_SECONDS: positiveInt(60, 86400),
  /** Seconds a verified key is remembered in process (0: look it up on every request). */
  API_KEY_CACHE_SECONDS: z.coerce.number().int().min(0).max(300).default(5),
  /**
   * Seconds an access-token user's existence and role are remembered in process (0: read on every
   * request): how long a deleted or demoted account keeps working on replicas that did not make
   * the change (src/auth/user-status-cache.ts).
   */
  USER_STATUS_CACHE_SECONDS: z.coerce.number().int().min(0).max(300).default(30),
  RATE_LIMIT_ENABLED: z
    .enum(['true', 'false', '1', '0', 'yes', 'no'])
    .default('true')
    .transform((v) => ['true', '1', 'yes'].includes(v)),
  RATE_LIMIT_PREFIX: z.string().min(1).max(100).default('mm:rl:'),
  RATE_LIMIT_QUERY: rate('600/60'),
  RATE_LIMIT_MUTATION: rate('120/60'),
  RATE_LIMIT_PREDICT: rate('300/60'),
  RATE_LIMIT_UPLOAD: rate('20/3600'),
  RATE_LIMIT_AUTH: rate('20/60'),
} as const;

const authEnvSchema = z.object(AUTH_ENV);
type AuthEnv = z.output<typeof authEnvSchema>;

/** Operation classes with their own buckets; `auth` is login/register/refresh (per IP, brute force). */
export type RateLimitClass = 'query' | 'mutation' | 'predict' | 'upload' | 'auth';
export type BucketSpec = { capacity: number; windowSeconds: number };

export type AuthConfig = {
  jwt: {
    /** Raw JWK set JSON (secret: never logged). */
    privateKeys?: string;
    /** Raw `kid:secret,…` list (secret: never logged). */
    secrets?: string;
    activeKid?: string;
    issuer: string;
    audience: string;
    accessTtlSeconds: number;
  };
  refreshTokenTtlDays: number;
  apiKeyMaxPerUser: number;
  apiKeyLastUsedWriteSeconds: number;
  apiKeyCacheSeconds: number;
  userStatusCacheSeconds: number;
};

export type RateLimitConfig = {
  enabled: boolean;
  /** Redis key prefix (lets test files and deployments share one Redis). */
  prefix: string;
  limits: Record<RateLimitClass, BucketSpec>;
};

export type AuthSettings = { auth: AuthConfig; rateLimit: RateLimitConfig };

/** Builds the settings; returns issues (fail closed: production needs configured JWT keys). */
export function authConfigFrom(e: AuthEnv & { NODE_ENV: string }): { settings: AuthSettings; issues: string[] } {
  const issues: string[] = [];
  if (e.NODE_ENV === 'production' && !e.JWT_PRIVATE_KEYS && !e.JWT_SECRET) {
    issues.push(
      'JWT_PRIVATE_KEYS: required in production (a JWK set of signing keys), or JWT_SECRET (kid:secret pairs); no key is generated there',
    );
  }
  return {
    issues,
    settings: {
      auth: {
        jwt: {
          privateKeys: e.JWT_PRIVATE_KEYS,
          secrets: e.JWT_SECRET,
          activeKid: e.JWT_ACTIVE_KID,
          issuer: e.JWT_ISSUER,
          audience: e.JWT_AUDIENCE,
          accessTtlSeconds: e.JWT_ACCESS_TTL_SECONDS,
        },
        refreshTokenTtlDays: e.REFRESH_TOKEN_TTL_DAYS,
        apiKeyMaxPerUser: e.API_KEY_MAX_PER_USER,
        apiKeyLastUsedWriteSeconds: e.API_KEY_LAST_USED_WRITE_SECONDS,
        apiKeyCacheSeconds: e.API_KEY_CACHE_SECONDS,
        userStatusCacheSeconds: e.USER_STATUS_CACHE_SECONDS,
      },
      rateLimit: {
        enabled: e.RATE_LIMIT_ENABLED,
        prefix: e.RATE_LIMIT_PREFIX,
        limits: {
          query: e.RATE_LIMIT_QUERY,
          mutation: e.RATE_LIMIT_MUTATION,
          predict: e.RATE_LIMIT_PREDICT,
          upload: e.RATE_LIMIT_UPLOAD,
          auth: e.RATE_LIMIT_AUTH,
        },
      },
    },
  };
}

/** The settings with key material masked, for start-up logs. */
export function redactAuthSettings(s: AuthSettings): AuthSettings {
  const mask = (v?: string) => (v ? '***' : v);
  return {
    ...s,
    auth: {
      ...s.auth,
      jwt: { ...s.auth.jwt, privateKeys: mask(s.auth.jwt.privateKeys), secrets: mask(s.auth.jwt.secrets) },
    },
  };
}

/** Defaults, for code that builds services without a full config (schema emission, unit tests). */
export function defaultAuthSettings(): AuthSettings {
  const parsed = authEnvSchema.parse({});
  return authConfigFrom({ ...parsed, NODE_ENV: 'development' }).settings;
}
