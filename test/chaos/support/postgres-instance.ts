import { execFileSync } from 'node:child_process';
import { chownSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { sparePort, until } from './spare-port.js';

const BIN = process.env.CHAOS_PG_BIN ?? '/usr/lib/postgresql/15/bin';

/**
 * A PostgreSQL cluster of the test's own (initdb in a temporary directory, a spare port, its
 * socket in that directory), so that the test can stop and start it without touching the
 * machine's server on 5432, which other tests use. initdb and pg_ctl refuse to run as root:
 * when we are root they run as the `postgres` user. Durability is off (fsync, full pages):
 * a test cluster, and a clean `pg_ctl stop` writes everything anyway.
 */
export type PostgresInstance = {
  port: number;
  /** `postgresql://postgres@127.0.0.1:<port>/postgres` (trust authentication). */
  url: string;
  /** A URL for another database on this cluster. */
  urlFor(database: string): string;
  readonly running: boolean;
  /** `pg_ctl stop` (`fast`: disconnects clients, rolls back their transactions; `immediate`: a crash). */
  stop(mode?: 'fast' | 'immediate'): Promise<void>;
  /** Starts it again on the same port; resolves once it accepts connections. */
  start(): Promise<void>;
  /** Stops it (immediate) and removes its directory. Safe to call twice. */
  dispose(): Promise<void>;
};

/** Whether this machine can run a private cluster (the binaries exist and we can run them). */
export function canRunPostgres(): boolean {
  try {
    execFileSync(`${BIN}/pg_ctl`, ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const asRoot = typeof process.getuid === 'function' && process.getuid() === 0;

/** Runs a PostgreSQL binary, as the `postgres` user when we are root. */
function run(binary: string, args: string[]): string {
  const quoted = [`${BIN}/${binary}`, ...args].map((a) => `'${a.replaceAll("'", `'\\''`)}'`).join(' ');
  if (asRoot) return execFileSync('su', ['postgres', '-s', '/bin/sh', '-c', quoted], { encoding: 'utf8' });
  return execFileSync('/bin/sh', ['-c', quoted], { encoding: 'utf8' });
}

export async function startPostgres(): Promise<PostgresInstance> {
  const port = await sparePort();
  const dir = mkdtempSync(join(tmpdir(), 'chaos-pg-'));
  const data = join(dir, 'data');
  const log = join(dir, 'postgres.log');
  if (asRoot) {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    chownSync(dir, uid, gid);
  }
  const url = `postgresql://postgres@127.0.0.1:${port}/postgres`;
  let running = false;

  const accepts = async () => {
    const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1000 });
    c.on('error', () => undefined);
    try {
      await c.connect();
      await c.query('select 1');
      return true;
    } catch {
      return false;
    } finally {
      await c.end().catch(() => undefined);
    }
  };

  const instance: PostgresInstance = {
    port,
    url,
    urlFor: (database) => `postgresql://postgres@127.0.0.1:${port}/${database}`,
    get running() {
      return running;
    },
    async start() {
      if (running) return;
      const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off -c max_connections=200`;
      run('pg_ctl', ['-D', data, '-o', options, '-l', log, '-w', '-t', '30', 'start']);
      running = true;
      await until(accepts, `postgres on port ${port}`, 30_000);
    },
    async stop(mode = 'fast') {
      if (!running) return;
      run('pg_ctl', ['-D', data, '-m', mode, '-w', '-t', '30', 'stop']);
      running = false;
    },
    async dispose() {
      try {
        if (running) run('pg_ctl', ['-D', data, '-m', 'immediate', '-w', '-t', '30', 'stop']);
      } catch {
        // already gone
      }
      running = false;
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    run('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8', '--locale', 'C']);
    await instance.start();
  } catch (err) {
    await instance.dispose();
    throw err;
  }
  return instance;
}
