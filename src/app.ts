import type { GraphQLSchema } from 'graphql';
import type { Config } from './config.js';
import { openDatabase, pendingMigrations, migrate, type Database } from './db/database.js';
import { createSchema } from './graphql/schema.js';
import { createServices, type Services } from './services.js';
import { createLogger, type Logger } from './shared/logger.js';
import { LocalModelStorage, type ModelStorage } from './storage/model-storage.js';

export type ReadinessReport = { ready: boolean; checks: Record<string, { ok: boolean; detail?: string }> };

export type App = {
  config: Config;
  logger: Logger;
  db: Database;
  services: Services;
  storage: ModelStorage;
  schema: GraphQLSchema;
  readiness(): Promise<ReadinessReport>;
  close(): Promise<void>;
};

/**
 * Builds everything a process needs, in one place: the database (embedded or PostgreSQL), the
 * services and the GraphQL schema. Migrations run at start on the embedded default (there is no
 * one else to run them) and when MIGRATE_ON_START asks; otherwise `npm run migrate` does it and
 * the readiness probe stays false until it has.
 */
export async function createApp(config: Config, options: { logger?: Logger } = {}): Promise<App> {
  const logger = options.logger ?? createLogger(config.logLevel);
  const db = await openDatabase(config, (message) => logger.info({ component: 'orm' }, message));
  try {
    if (config.migrateOnStart === 'true' || (config.migrateOnStart === 'auto' && db.embedded)) {
      const applied = await migrate(db.orm);
      if (applied.length) logger.info({ applied }, 'migrations applied');
    }
    const services = createServices(config);
    const schema = await createSchema(services, config.maxPageSize);
    return {
      config,
      logger,
      db,
      services,
      storage: new LocalModelStorage(config.modelStorageDir),
      schema,
      readiness: () => readiness(db),
      close: () => db.close(),
    };
  } catch (err) {
    await db.close();
    throw err;
  }
}

async function readiness(db: Database): Promise<ReadinessReport> {
  const checks: ReadinessReport['checks'] = {};
  try {
    await db.orm.em.fork().execute('select 1');
    checks.database = { ok: true };
    const pending = await pendingMigrations(db.orm);
    checks.migrations = pending.length ? { ok: false, detail: `pending: ${pending.join(', ')}` } : { ok: true };
  } catch (err) {
    checks.database = { ok: false, detail: err instanceof Error ? err.message : String(err) };
  }
  return { ready: Object.values(checks).every((c) => c.ok), checks };
}
