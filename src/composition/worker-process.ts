import 'reflect-metadata';
import { createApp } from '../app.js';
import { redactConfig, type Config } from '../config.js';
import { startupSummary } from '../shared/startup-summary.js';
import type { Tracing } from '../observability/tracing-sdk.js';
import { stopGracefully } from './graceful-stop.js';

/**
 * `npm run worker` (src/worker.ts): a process that only runs jobs — queued predictions and webhook deliveries —
 * with its own inference pool, and serves no HTTP. It needs the database, Redis and model
 * storage, so GPU machines can run workers while API replicas run elsewhere. Without REDIS_URL
 * there is no shared queue to pull from: the API process runs jobs itself (RUN_JOBS).
 */
export async function runWorker(config: Config, tracing: Tracing): Promise<void> {
  if (!config.redisUrl || !config.databaseUrl) {
    process.stderr.write(
      'npm run worker needs DATABASE_URL and REDIS_URL (the API runs jobs itself on the embedded default)\n',
    );
    process.exit(1);
  }
  const app = await createApp(config);
  app.logger.debug({ config: redactConfig(config) }, 'configuration');
  app.startJobs({ force: true });
  app.logger.info(
    {
      role: 'worker',
      ...startupSummary(config, { embedded: false, role: 'worker' }),
      concurrency: config.jobs.concurrency,
    },
    'worker ready',
  );
  // Closing the app stops taking jobs and waits for the running ones (the queues' close: composition/infrastructure.ts).
  stopGracefully(app, config, tracing);
}
