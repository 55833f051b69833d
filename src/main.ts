import 'reflect-metadata';
import { createApp } from './app.js';
import { redactConfig } from './config.js';
import { startServer } from './http/server.js';
import { seedIfWanted } from './catalog/seed.js';
import { exitOnFatal, loadConfigOrExit, stopOnSignals } from './shared/process-lifecycle.js';

/** `npm start`: the API (and, on the embedded default, everything else) in one process. */
async function main(): Promise<void> {
  const config = loadConfigOrExit();
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
  stopOnSignals(app.logger, async () => {
    // A run that never ends must not hold the exit past the grace period: then the pool kills
    // its workers, and whatever still waits on them (a request, a job) fails SHUTTING_DOWN.
    const cut = setTimeout(() => void app.inference.close(), config.shutdownGraceMs);
    try {
      await running.close();
      app.logger.info('http server closed');
      await app.close();
    } finally {
      clearTimeout(cut);
    }
  });
}

main().catch(exitOnFatal);
