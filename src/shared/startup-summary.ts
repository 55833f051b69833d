import { join } from 'node:path';
import type { Config } from '../config.js';

/**
 * The few facts a person starting the server wants to see in one line — where it listens, on
 * which database and queue, who runs the jobs, the inference pool — instead of the whole
 * configuration (logged at debug level by the entry points). No credentials: URLs are reduced to
 * host and database.
 */
export function startupSummary(config: Config, options: { url?: string; embedded: boolean; role: 'api' | 'worker' }) {
  const database = options.embedded
    ? `embedded PGlite in ${join(config.dataDir, 'pglite')}`
    : `PostgreSQL at ${hostAndPath(config.databaseUrl)}`;
  const redis = config.redisUrl ? `Redis at ${hostAndPath(config.redisUrl)}` : 'none: queue and pub/sub in process';
  const jobs =
    options.role === 'worker'
      ? 'runs them'
      : config.jobs.run
        ? 'run in this process'
        : 'left to workers (RUN_JOBS=false)';
  const s = config.storage;
  const storage =
    s.kind === 'local'
      ? `folder ${s.dir}`
      : `S3 bucket ${s.bucket}${s.prefix ? ` under ${s.prefix}` : ''}${s.endpoint ? ` at ${hostAndPath(s.endpoint)}` : ` in ${s.region}`}, cache ${s.cacheDir}`;
  const devices = [...new Set(config.inference.devices.map((d) => d.label))].join(', ');
  return {
    ...(options.url ? { url: options.url } : {}),
    env: config.env,
    database,
    redis,
    jobs,
    storage,
    inference: `${config.inference.workers} worker${config.inference.workers === 1 ? '' : 's'} on ${devices}`,
    tracing: !config.tracing.enabled
      ? 'off'
      : `OpenTelemetry: ${config.tracing.exporters.join(', ')}${config.tracing.endpoint ? ` to ${hostAndPath(config.tracing.endpoint)}` : ''}`,
    ...(options.role === 'api' ? { playground: config.playground ? options.url : 'off' } : {}),
  };
}

function hostAndPath(url?: string): string {
  if (!url) return 'unset';
  const u = new URL(url);
  return `${u.host}${u.pathname === '/' ? '' : u.pathname}`;
}
