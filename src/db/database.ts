import { MikroORM } from '@mikro-orm/postgresql';
import { join } from 'node:path';
import type { Config } from '../config.js';
import { startEmbeddedPostgres, type EmbeddedPostgres } from './embedded-postgres.js';
import { ormConfig } from './orm-config.js';
import { markSharedSession } from './prepared-statement.js';

export type Database = {
  orm: MikroORM;
  /** True when running on the embedded PGlite default. */
  embedded: boolean;
  close(): Promise<void>;
};

/**
 * Opens the database the config asks for: PostgreSQL at DATABASE_URL, or the embedded PGlite
 * under DATA_DIR. Nothing else in the code knows which one it got.
 */
export async function openDatabase(config: Config, log?: (message: string) => void): Promise<Database> {
  let embedded: EmbeddedPostgres | undefined;
  let clientUrl = config.databaseUrl;
  let poolMax = config.databasePoolMax;
  if (!clientUrl) {
    embedded = await startEmbeddedPostgres(
      config.dataDir.startsWith('memory://') ? config.dataDir : join(config.dataDir, 'pglite'),
    );
    clientUrl = embedded.clientUrl;
    poolMax = Math.min(poolMax, embedded.maxConnections);
  }
  try {
    const orm = await MikroORM.init(
      ormConfig({ clientUrl, poolMax, idleTimeoutMs: config.databasePoolIdleMs, debug: config.sqlDebug, log }),
    );
    if (embedded) markSharedSession(orm);
    return {
      orm,
      embedded: embedded !== undefined,
      async close() {
        await orm.close(true);
        await embedded?.stop();
      },
    };
  } catch (err) {
    await embedded?.stop();
    throw err;
  }
}

/** Applies pending migrations; returns the names applied. */
export async function migrate(orm: MikroORM): Promise<string[]> {
  const applied = await orm.migrator.up();
  return applied.map((m) => m.name);
}

/** Names of migrations not yet applied (the readiness probe reports them). */
export async function pendingMigrations(orm: MikroORM): Promise<string[]> {
  return (await orm.migrator.getPending()).map((m) => m.name);
}
