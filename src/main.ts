import 'reflect-metadata';
import { createApp } from './app.js';
import { ConfigError, loadConfig, redactConfig } from './config.js';
import { startServer } from './http/server.js';
import { seedIfWanted } from './catalog/seed.js';

/** `npm start`: the API (and, on the embedded default, everything else) in one process. */
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
  const started = performance.now();
  const app = await createApp(config);
  app.logger.info({ config: redactConfig(config) }, 'starting');
  await seedIfWanted(app);
  // Queued predictions and webhooks run here too unless RUN_JOBS=false (then `npm run worker` does).
  app.startJobs();
  const running = await startServer(app, { port: config.port, host: config.host });
  app.logger.info(
    {
      url: running.url,
      database: app.db.embedded ? 'embedded PGlite' : 'PostgreSQL',
      startupMs: Math.round(performance.now() - started),
    },
    `ready on ${running.url}`,
  );

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    app.logger.info({ signal }, 'shutting down');
    try {
      await running.close();
      app.logger.info('http server closed');
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
