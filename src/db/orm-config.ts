import { defineConfig, type Options } from '@mikro-orm/postgresql';
import { Migrator } from '@mikro-orm/migrations';
import { ENTITIES } from '../entities/index.js';
import { MIGRATIONS } from '../../migrations/index.js';
import { countStatement } from './sql-counter.js';

export type OrmConfigInput = {
  clientUrl: string;
  poolMax?: number;
  /** How long an unused pooled connection stays open (pg's default: 10 s). */
  idleTimeoutMs?: number;
  debug?: boolean;
  /** Where MikroORM's own messages (migrator progress, debug SQL) go; stdout by default. */
  log?: (message: string) => void;
};

/**
 * The one MikroORM configuration: the server, the worker, scripts and tests all build theirs
 * here. Migrations are listed explicitly (migrations/index.ts) rather than discovered from the
 * folder, so the same list loads under tsc output, SWC and Jest.
 */
export function ormConfig(input: OrmConfigInput): Options {
  return defineConfig({
    entities: ENTITIES,
    clientUrl: input.clientUrl,
    pool: { min: 0, max: input.poolMax ?? 10, idleTimeoutMillis: input.idleTimeoutMs ?? 10_000 },
    // Request and job code must use a fork (`em.fork()`); the global EntityManager would share
    // the identity map across users (CONVENTIONS.md).
    allowGlobalContext: false,
    // Session time zone UTC: timestamptz values and date_trunc() agree with the UTC billing months.
    timezone: '+00:00',
    onCreateConnection: async (connection: unknown) => {
      const c = connection as { query?: (sql: string) => Promise<unknown> };
      if (typeof c.query === 'function') await c.query("set time zone 'UTC'");
    },
    onQuery: (sql) => countStatement(sql),
    extensions: [Migrator],
    migrations: {
      tableName: 'mikro_orm_migrations',
      path: 'migrations',
      migrationsList: MIGRATIONS,
      snapshot: false,
      transactional: true,
      allOrNothing: true,
      emit: 'ts',
    },
    ensureDatabase: false,
    // The initial migration creates one hand-written IMMUTABLE helper (marketplace_tags_text, used
    // by the models' search vector); leave routines out of the schema diff so it is not dropped.
    schemaGenerator: { ignoreRoutines: true },
    debug: input.debug ?? false,
    ...(input.log ? { logger: input.log } : {}),
    colors: false,
  });
}
