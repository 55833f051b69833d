import 'reflect-metadata';
import cluster from 'node:cluster';
import { createApp } from '../app.js';
import { redactConfig, type Config } from '../config.js';
import { startServer } from '../http/server.js';
import { startupSummary } from '../shared/startup-summary.js';
import { seedIfWanted } from '../catalog/seed.js';
import type { Tracing } from '../observability/tracing-sdk.js';
import { stopGracefully } from './graceful-stop.js';

/** `npm start` (src/main.ts): the API (and, on the embedded default, everything else) in one process. */
export async function runApi(config: Config, tracing: Tracing, started: number): Promise<void> {
  const app = await createApp(config);
  app.logger.debug({ config: redactConfig(config) }, 'configuration');
  await seedIfWanted({ seedOnStart: config.seedOnStart, db: app.db, storage: app.storage, logger: app.logger });
  // Queued predictions and webhooks run here too unless RUN_JOBS=false (then `npm run worker` does).
  app.startJobs();
  const running = await startServer(app, { port: config.port, host: config.host });
  const startupMs = Math.round(performance.now() - started);
  const summary = startupSummary(config, { url: running.url, embedded: app.db.embedded, role: 'api' });
  // One of API_PROCESSES: the primary says when the whole cluster is ready (api-cluster.ts).
  if (cluster.isWorker) app.logger.info({ ...summary, processStartupMs: startupMs }, 'API process listening');
  else app.logger.info({ ...summary, startupMs }, `ready on ${running.url}`);
  stopGracefully(app, config, tracing, async (step) => {
    step('http server');
    await running.close();
  });
}
