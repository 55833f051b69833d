import { z } from 'zod';
import { AUTH_ENV, authConfigFrom, redactAuthSettings, type AuthSettings } from './auth/auth.config.js';
import {
  BILLING_ENV,
  billingConfigFrom,
  redactBillingSettings,
  type BillingSettings,
} from './billing/billing.config.js';
import { INFERENCE_ENV, inferenceConfigFrom, type InferenceSettings } from './inference/inference.config.js';
import { JOBS_ENV, jobsConfigFrom, type JobsSettings } from './predictions/jobs.config.js';
import { corsPolicyFrom } from './http/cors.config.js';
import { GRAPHQL_ENV, graphqlConfigFrom, type GraphQLSettings } from './graphql/graphql.config.js';
import { isSecret, secret } from './shared/config-secret.js';
import { url } from './shared/config-url.js';
import { MAIL_ENV, mailConfigFrom, type MailSettings } from './mail/mail.config.js';
import { TRACING_ENV, tracingConfigFrom, type TracingSettings } from './observability/tracing.config.js';
import {
  redactStorageSettings,
  STORAGE_ENV,
  storageConfigFrom,
  type StorageSettings,
} from './storage/storage.config.js';

/**
 * Environment configuration, parsed once at start. A bad value stops the process with a message
 * naming the variable (Twenty's ConfigVariables.validate() does the same). Secrets are marked
 * where they are defined (`secret(…)`); SECRET_KEYS lists them for redaction and deployment files.
 */
const bool = (fallback: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no'])
    .optional()
    .transform((v) => (v === undefined ? fallback : ['true', '1', 'yes'].includes(v)));

const schema = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  HOST: z.string().min(1).default('0.0.0.0'),
  PORT: z.coerce.number().int().min(0).max(65535).default(4000),
  /** API processes behind PORT on this host (node:cluster); more than one needs PostgreSQL and Redis. */
  API_PROCESSES: z.coerce.number().int().min(1).max(64).default(1),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  LOG_FORMAT: z.enum(['auto', 'json', 'pretty']).default('auto'),
  DATABASE_URL: secret(url(['postgres:', 'postgresql:']).optional()),
  DATABASE_POOL_MAX: z.coerce.number().int().min(1).max(200).default(10),
  DATABASE_POOL_IDLE_MS: z.coerce.number().int().min(100).max(3_600_000).default(10_000),
  DATA_DIR: z.string().min(1).default('.data'),
  REDIS_URL: secret(url(['redis:', 'rediss:']).optional()),
  SEED_ON_START: z.enum(['auto', 'true', 'false']).default('auto'),
  MIGRATE_ON_START: z.enum(['auto', 'true', 'false']).default('auto'),
  MODEL_STORAGE_DIR: z.string().min(1).optional(),
  GRAPHQL_INTROSPECTION: bool(true).optional(),
  GRAPHQL_PLAYGROUND: bool(true).optional(),
  SHUTDOWN_GRACE_MS: z.coerce.number().int().min(0).max(600_000).default(25_000),
  /** Idle keep-alive connections stay open this long: above any load balancer's idle timeout in front (AWS ALB: 60 s). */
  HTTP_KEEP_ALIVE_TIMEOUT_MS: z.coerce.number().int().min(1000).max(600_000).default(65_000),
  GRAPHQL_MAX_PAGE_SIZE: z.coerce.number().int().min(1).max(1000).default(100),
  SQL_DEBUG: bool(false),
  /** Bearer token `GET /metrics` requires; METRICS_PORT serves it on a port of its own instead. */
  METRICS_TOKEN: secret(z.string().min(16, 'must be at least 16 characters').optional()),
  METRICS_PORT: z.coerce.number().int().min(1).max(65535).optional(),
  // JWT keys, API keys, rate limits: src/auth/auth.config.ts.
  ...AUTH_ENV,
  // Depth, cost, aliases, WebSocket connection limits: src/graphql/graphql.config.ts.
  ...GRAPHQL_ENV,
  // Stripe, platform fee, overdue block: src/billing/billing.config.ts.
  ...BILLING_ENV,
  // Worker pool, devices, batching, limits: src/inference/inference.config.ts.
  ...INFERENCE_ENV,
  // Job queue, worker role, sweeper, webhooks: src/predictions/jobs.config.ts.
  ...JOBS_ENV,
  // OpenTelemetry tracing, the SDK's own OTEL_* variables: src/observability/tracing.config.ts.
  ...TRACING_ENV,
  // Local folder or S3-compatible bucket, and the local cache: src/storage/storage.config.ts.
  ...STORAGE_ENV,
  // SMTP or files, sender, links, outbox retries, verification policy: src/mail/mail.config.ts.
  ...MAIL_ENV,
  UPLOAD_MAX_BYTES: z.coerce
    .number()
    .int()
    .min(1)
    .default(1024 * 1024 * 1024),
  UPLOAD_MAX_FIELD_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .max(10 * 1024 * 1024)
    .default(1024 * 1024),
  PUBSUB_PREFIX: z.string().min(1).max(100).default('mm:'),
  CATALOG_CACHE_TTL_MS: z.coerce.number().int().min(0).max(600_000).default(2000),
  PREDICT_VERSION_CACHE_TTL_MS: z.coerce.number().int().min(0).max(600_000).default(2000),
  CORS_ORIGINS: z
    .string()
    .optional()
    .superRefine((v, ctx) => {
      try {
        corsPolicyFrom(v, 'production');
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message });
      }
    }),
});

/**
 * Every environment variable the app reads. Anything else is ignored without a word, so a
 * misspelt name in a deployment file would silently fall back to a default:
 * test/deploy/config-variables.test.ts holds docker-compose.yml and the Dockerfile to this list.
 */
export const CONFIG_VARIABLES: readonly string[] = Object.keys(schema.shape);

/** The parsed configuration: the feature settings and the core ones, as their parsers build them. */
export type Config = AuthSettings &
  GraphQLSettings &
  BillingSettings &
  InferenceSettings &
  JobsSettings &
  TracingSettings &
  StorageSettings &
  MailSettings &
  ReturnType<typeof coreConfigFrom>;

/** The variables marked `secret(…)` where they are defined (here and in the feature configs). */
export const SECRET_KEYS: readonly string[] = Object.entries(schema.shape)
  .filter(([, variable]) => isSecret(variable))
  .map(([name]) => name);

export class ConfigError extends Error {
  constructor(readonly issues: string[]) {
    super(`Invalid configuration:\n${issues.map((i) => `  - ${i}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Parses the environment (defaults to process.env). Empty strings count as unset. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = schema.safeParse(cleaned);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`));
  }
  const e = parsed.data;
  const auth = authConfigFrom(e);
  if (auth.issues.length) throw new ConfigError(auth.issues);
  const storage = storageConfigFrom(e);
  if (storage.issues.length) throw new ConfigError(storage.issues);
  if (e.API_PROCESSES > 1 && (!e.DATABASE_URL || !e.REDIS_URL)) {
    throw new ConfigError([
      'API_PROCESSES: more than one API process needs DATABASE_URL and REDIS_URL (the embedded database, queue and pub/sub belong to one process)',
    ]);
  }
  return {
    ...auth.settings,
    ...graphqlConfigFrom(e),
    ...billingConfigFrom(e),
    ...inferenceConfigFrom(e),
    ...jobsConfigFrom(e),
    ...tracingConfigFrom(e),
    ...storage.settings,
    ...mailConfigFrom(e),
    ...coreConfigFrom(e),
  };
}

/** The settings that belong to no feature: process, storage, database, Redis, HTTP. */
function coreConfigFrom(e: z.output<typeof schema>) {
  return {
    env: e.NODE_ENV,
    host: e.HOST,
    port: e.PORT,
    /** API processes sharing `port` (src/composition/api-cluster.ts); 1: this process serves it. */
    apiProcesses: e.API_PROCESSES,
    logLevel: e.LOG_LEVEL,
    /** `auto`: pretty on a terminal outside production, JSON otherwise (src/shared/logger.ts). */
    logFormat: e.LOG_FORMAT,
    /** Absent: run the embedded PGlite database under `dataDir`. */
    databaseUrl: e.DATABASE_URL,
    databasePoolMax: e.DATABASE_POOL_MAX,
    databasePoolIdleMs: e.DATABASE_POOL_IDLE_MS,
    dataDir: e.DATA_DIR,
    /** Absent: in-process queue, pub/sub and rate limiter. */
    redisUrl: e.REDIS_URL,
    /** Seed the demo catalog at start: `auto` means only on the embedded default's first start. */
    seedOnStart: e.SEED_ON_START,
    /** Apply migrations at start: `auto` means only on the embedded default. */
    migrateOnStart: e.MIGRATE_ON_START,
    modelStorageDir: e.MODEL_STORAGE_DIR ?? `${e.DATA_DIR}/models`,
    introspection: e.GRAPHQL_INTROSPECTION ?? e.NODE_ENV !== 'production',
    /** Serve GraphiQL at `GET /graphql` for browsers (defaults to `introspection`). */
    playground: e.GRAPHQL_PLAYGROUND ?? e.GRAPHQL_INTROSPECTION ?? e.NODE_ENV !== 'production',
    /** How long SIGTERM waits for in-flight requests before cutting connections. */
    shutdownGraceMs: e.SHUTDOWN_GRACE_MS,
    keepAliveTimeoutMs: e.HTTP_KEEP_ALIVE_TIMEOUT_MS,
    maxPageSize: e.GRAPHQL_MAX_PAGE_SIZE,
    sqlDebug: e.SQL_DEBUG,
    /**
     * Who may read `GET /metrics`: with a token, requests bearing it; with a port, whoever reaches
     * that port (and not the API's); with neither, anyone outside production and nobody in it.
     */
    metrics: {
      token: e.METRICS_TOKEN,
      port: e.METRICS_PORT,
      open: e.NODE_ENV !== 'production' && !e.METRICS_TOKEN && !e.METRICS_PORT,
    },
    /** Largest model file an upload may carry (bytes); bigger ones fail with PAYLOAD_TOO_LARGE. */
    uploadMaxBytes: e.UPLOAD_MAX_BYTES,
    /** Largest non-file multipart field (the `operations` and `map` JSON). */
    uploadMaxFieldBytes: e.UPLOAD_MAX_FIELD_BYTES,
    /** Prefix of pub/sub channel names (lets test files and deployments share one Redis). */
    pubSubPrefix: e.PUBSUB_PREFIX,
    /** How long anonymous catalog reads may be answered from the response cache; 0: off. */
    catalogCacheTtlMs: e.CATALOG_CACHE_TTL_MS,
    /** How long `predict` may reuse a resolved (model, version) between catalog writes; 0: off. */
    predictVersionCacheTtlMs: e.PREDICT_VERSION_CACHE_TTL_MS,
    /** Browser origins allowed by CORS (CORS_ORIGINS; unset: localhost outside production, none in it). */
    cors: corsPolicyFrom(e.CORS_ORIGINS, e.NODE_ENV),
  };
}

/** The config with credentials inside URLs masked, for start-up logs. */
export function redactConfig(config: Config): Record<string, unknown> {
  const mask = (u?: string) => {
    if (!u) return u;
    const parsed = new URL(u);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  };
  return {
    ...config,
    ...redactAuthSettings(config),
    ...redactBillingSettings(config),
    databaseUrl: mask(config.databaseUrl),
    redisUrl: mask(config.redisUrl),
    metrics: { ...config.metrics, token: config.metrics.token ? '***' : undefined },
    storage: redactStorageSettings(config.storage),
    mail: {
      ...config.mail,
      transport:
        config.mail.transport.kind === 'smtp'
          ? { kind: 'smtp', url: mask(config.mail.transport.url) }
          : config.mail.transport,
    },
  };
}
