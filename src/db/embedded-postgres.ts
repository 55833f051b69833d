import { closeSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { StartupError } from '../shared/errors.js';

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
 * (pglite-socket's `maxConnections` option); with it, statements from other connections wait while one is inside
 * a transaction, which keeps transactions isolated on the single-threaded engine.
 *
 * @param dataDir folder that keeps the data across restarts; `memory://` for a throwaway one.
 */
export async function startEmbeddedPostgres(dataDir: string): Promise<EmbeddedPostgres> {
  const dir = dataDir.startsWith('memory://') ? dataDir : resolve(dataDir);
  let unlock = () => undefined as void;
  if (!dir.startsWith('memory://')) {
    mkdirSync(dir, { recursive: true });
    unlock = lockDataDir(dir);
  }
  try {
    return await open(dir, unlock);
  } catch (err) {
    unlock();
    throw err;
  }
}

/** The folder is in use by another live process (a second `npm start`, a seed while it runs). */
export class DataDirInUseError extends StartupError {
  override name = 'DataDirInUseError';

  constructor(
    readonly dir: string,
    readonly pid: number,
  ) {
    super(
      `${dir} is in use by process ${pid} (another \`npm start\`, or a script on the embedded database). ` +
        'PGlite is one process per data folder: stop that one, or give this one another DATA_DIR.',
    );
  }
}

/**
 * One process per PGlite folder: a second PGlite on the same files corrupts them. The lock is a
 * file created exclusively, holding the owner's pid; one left by a process that died is taken over.
 * Returns the release.
 */
function lockDataDir(dir: string): () => void {
  const path = join(dir, 'server.lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return () => {
        try {
          if (readFileSync(path, 'utf8') === String(process.pid)) unlinkSync(path);
        } catch {
          // Already gone.
        }
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const pid = Number(readFileSync(path, 'utf8'));
      if (Number.isInteger(pid) && pid > 0 && isAlive(pid)) throw new DataDirInUseError(dir, pid);
      unlinkSync(path);
    }
  }
  throw new Error(`could not lock ${dir}`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: alive, owned by someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function open(dir: string, unlock: () => void): Promise<EmbeddedPostgres> {
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
      unlock();
    },
  };
}
