import type { GraphQLSchema } from 'graphql';
import type { Config } from './config.js';
import { createInfrastructure, type Infrastructure } from './composition/infrastructure.js';
import { createSchema } from './graphql/schema.js';
import { readiness, type ReadinessReport } from './composition/readiness.js';
import { createServices, type Services } from './services.js';
import { createLogger, resolveLogFormat, type Logger } from './shared/logger.js';
import { startJobs, type RunningJobs } from './composition/start-jobs.js';

export type { ReadinessReport } from './composition/readiness.js';

/** One process's parts: its infrastructure, services and schema, built once by `createApp`. */
export type App = Omit<Infrastructure, 'close' | 'queues' | 'validator'> & {
  config: Config;
  logger: Logger;
  services: Services;
  schema: GraphQLSchema;
  /**
   * Makes this process a job worker too (queued predictions, webhooks, the sweeper) when
   * RUN_JOBS allows it; `force` is for `npm run worker`. main.ts and worker.ts call it.
   */
  startJobs(options?: { force?: boolean }): void;
  readiness(): Promise<ReadinessReport>;
  /** Stops everything in order; `step` is told each stage (shutdown's deadline report names it). */
  close(step?: (name: string) => void): Promise<void>;
};

/**
 * The composition root: the infrastructure (infrastructure.ts: embedded or distributed), the
 * services over it (services.ts) and the GraphQL schema over those; nothing below it knows how
 * it was wired.
 */
export async function createApp(config: Config, options: { logger?: Logger } = {}): Promise<App> {
  const logger = options.logger ?? createLogger(config.logLevel, {}, resolveLogFormat(config.logFormat, config.env));
  const infra = await createInfrastructure(config, logger);
  let jobs: RunningJobs | undefined;
  try {
    const services = createServices(config, infra, logger);
    const schema = await createSchema(services, { maxPageSize: config.maxPageSize, events: infra.events });
    // Uploads whose validation a previous process did not finish; in the background, never
    // blocking start (a database without migrations yet only logs a warning).
    services.versionValidation
      .resumeProcessing()
      .then((n) => n && logger.info({ versions: n }, 'resumed validation of PROCESSING model versions'))
      .catch((err: unknown) => logger.warn({ err }, 'could not resume PROCESSING model versions'));
    // Other replicas' catalog writes reach this process's caches through Redis (polled, not per request).
    if (infra.redis) {
      services.catalogGeneration.connect(infra.redis, (err) =>
        logger.warn({ err }, 'catalog generation unreadable in Redis: catalog caches bypassed until it is back'),
      );
    }
    const { db, redis, events, storage, inference, rateLimits, validator } = infra;
    return {
      db,
      redis,
      events,
      storage,
      inference,
      rateLimits,
      config,
      logger,
      services,
      schema,
      startJobs: (opts = {}) => {
        if (jobs || (!config.jobs.run && !opts.force)) return;
        jobs = startJobs(config, services, infra, logger);
      },
      readiness: () => readiness(infra),
      close: async (step = () => undefined) => {
        // Validations in flight are stopped, not waited for: their versions stay PROCESSING and
        // the next start takes them up again (a hostile one could hold shutdown for its budget).
        step('model validations');
        await validator.close();
        await services.versionValidation.drain();
        // No sweep may start against a database that is about to close; the queues' own close
        // (in the infrastructure) waits for running jobs.
        jobs?.stop();
        step('usage notifications');
        await services.usageNotifier.flush();
        await services.usageAlerts.evaluator.flush();
        // A mail being sent finishes (or stays due for the next process); none starts after.
        step('mail');
        await services.mail.sender.stop();
        services.catalogGeneration.close();
        await infra.close(step);
      },
    };
  } catch (err) {
    await infra.validator.close();
    await infra.close();
    throw err;
  }
}
