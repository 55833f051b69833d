import 'reflect-metadata';
import { createApp } from './app.js';
import { ConfigError, loadConfig, redactConfig } from './config.js';

/**
 * `npm run worker`: a process that only runs jobs — queued predictions and webhook deliveries —
 * with its own inference pool, and serves no HTTP. It needs the database, Redis and model
 * storage, so GPU machines can run workers while API replicas run elsewhere. Without REDIS_URL
 * there is no shared queue to pull from: the API process runs jobs itself (RUN_JOBS).
 */
async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  if (!config.redisUrl || !config.databaseUrl) {
    process.stderr.write(
      'npm run worker needs DATABASE_URL and REDIS_URL (the API runs jobs itself on the embedded default)\n',
    );
    process.exit(1);
  }
  const app = await createApp(config);
  app.logger.info({ config: redactConfig(config) }, 'starting worker');
  app.startJobs({ force: true });
  app.logger.info({ role: 'worker', concurrency: config.jobs.concurrency }, 'worker ready');

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    app.logger.info({ signal }, 'worker shutting down: finishing running jobs');
    try {
      await app.close();
      app.logger.info('stopped');
      process.exit(0);
    } catch (err) {
      app.logger.error({ err }, 'error during shutdown');
      process.exit(1);
    }
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

main().catch((err: unknown) => {
  process.stderr.write(`fatal: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
