import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

export type EmbeddedPostgres = {
  /** A `postgresql://` URL the ordinary driver connects to. */
  clientUrl: string;
  /** How many pooled connections the embedded server accepts. */
  maxConnections: number;
  stop(): Promise<void>;
};

/** Connections the socket server accepts; the ORM's pool must stay at or below it. */
const MAX_CONNECTIONS = 16;

/**
 * The embedded default database: PostgreSQL compiled to WASM (PGlite), served on a loopback port
 * by pglite-socket so that the same `pg` driver and MikroORM code path serve both modes.
 * Without `maxConnections` pglite-socket accepts one connection and drops a pool's second one
 * (../shared/TOOLCHAIN.md); with it, statements from other connections wait while one is inside
 * a transaction, which keeps transactions isolated on the single-threaded engine.
 *
 * @param dataDir folder that keeps the data across restarts; `memory://` for a throwaway one.
 */
export async function startEmbeddedPostgres(dataDir: string): Promise<EmbeddedPostgres> {
  const dir = dataDir.startsWith('memory://') ? dataDir : resolve(dataDir);
  if (!dir.startsWith('memory://')) mkdirSync(dir, { recursive: true });
  // pg_trgm (typo-tolerant model search) is a contrib extension: PGlite ships it separately and
  // it must be registered here before a migration's `create extension` can load it.
  const db = await PGlite.create(dir, { extensions: { pg_trgm } });
  const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0, maxConnections: MAX_CONNECTIONS });
  await server.start();
  const clientUrl = `postgresql://postgres@${server.getServerConn()}/postgres`;
  return {
    clientUrl,
    maxConnections: MAX_CONNECTIONS,
    async stop() {
      await server.stop();
      await db.close();
    },
  };
}
