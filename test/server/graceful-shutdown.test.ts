import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { randomUUID } from 'node:crypto';
import { deleteRedisKeys } from '../support/app-processes.js';
import { createTestDatabase } from '../support/test-database.js';

/**
 * SIGTERM under load, as an orchestrator sends it during a rolling deploy: the real entry point
 * serves catalog queries from 16 concurrent clients, gets SIGTERM, stops accepting, finishes what
 * it accepted, and exits 0. Every operation the server logged as handled reached its client as a
 * complete 200 response, and nothing failed before the signal.
 */
const CLIENTS = 16;
const QUERY = '{ models(first: 10, orderBy: NEWEST) { totalCount edges { node { slug owner { displayName } } } } }';

let db: Awaited<ReturnType<typeof createTestDatabase>>;
let dataDir: string;
// With REDIS_URL set, the server's queue, pub/sub and rate-limit keys go under a prefix of its own.
const prefix = `test-shutdown-${randomUUID()}`;
beforeAll(async () => {
  db = await createTestDatabase();
  dataDir = mkdtempSync(join(tmpdir(), 'mm-shutdown-'));
});
afterAll(async () => {
  await db.drop();
  if (process.env.REDIS_URL) await deleteRedisKeys(process.env.REDIS_URL, [prefix]);
  rmSync(dataDir, { recursive: true, force: true });
});

type Log = Record<string, unknown>;

function startServer(): Promise<{ child: ChildProcess; url: string; logs: Log[]; exited: Promise<number | null> }> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NODE_ENV: 'development',
    LOG_LEVEL: 'info',
    PORT: '0',
    HOST: '127.0.0.1',
    DATA_DIR: dataDir,
    MIGRATE_ON_START: 'true',
    SEED_ON_START: 'true',
    QUEUE_PREFIX: prefix,
    PUBSUB_PREFIX: `${prefix}:`,
    RATE_LIMIT_PREFIX: `${prefix}:rl:`,
  };
  if (db.databaseUrl) env.DATABASE_URL = db.databaseUrl;
  else delete env.DATABASE_URL;
  delete env.NODE_OPTIONS;
  const child = spawn(process.execPath, ['--import', '@swc-node/register/esm-register', 'src/main.ts'], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: Log[] = [];
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ready line in 90 s; stderr: ${stderr}`)), 90_000);
    void exited.then((code) => reject(new Error(`exited early with ${code}: ${stderr}`)));
    createInterface({ input: child.stdout }).on('line', (line) => {
      let entry: Log;
      try {
        entry = JSON.parse(line) as Log;
      } catch {
        return;
      }
      logs.push(entry);
      if (typeof entry.url === 'string' && typeof entry.startupMs === 'number') {
        clearTimeout(timer);
        resolve({ child, url: entry.url, logs, exited });
      }
    });
  });
}

it('finishes every accepted request and exits 0 on SIGTERM under load', async () => {
  const server = await startServer();
  let signalled = false;
  let complete = 0;
  const failuresBeforeSignal: string[] = [];
  const badResponses: string[] = [];
  const afterSignal: string[] = [];

  const client = async () => {
    for (;;) {
      try {
        const res = await fetch(server.url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'x-request-id': `load-${Math.random().toString(36).slice(2)}`,
          },
          body: JSON.stringify({ query: QUERY }),
        });
        const body = (await res.json()) as { data?: { models?: { totalCount: number } }; errors?: unknown };
        if (res.status !== 200 || !body.data?.models || body.errors)
          badResponses.push(`${res.status} ${JSON.stringify(body)}`);
        else complete++;
      } catch (err) {
        // After SIGTERM the server refuses new connections: that is the end of this client.
        if (!signalled) failuresBeforeSignal.push(String(err));
        else afterSignal.push(`${String(err)} ${String((err as { cause?: unknown }).cause)}`);
        return;
      }
    }
  };
  const clients = Array.from({ length: CLIENTS }, () => client());

  // Let the load build up, then ask the server to stop while requests are in flight.
  while (complete < 200) await new Promise((r) => setTimeout(r, 20));
  signalled = true;
  server.child.kill('SIGTERM');
  const code = await server.exited;
  await Promise.all(clients);

  const handled = server.logs.filter((l) => l.msg === 'graphql operation').length;
  expect(code).toBe(0);
  expect(failuresBeforeSignal).toEqual([]);
  expect(badResponses).toEqual([]);
  // Every operation the server handled (and logged) reached its client complete.
  expect(complete).toBe(handled);
  expect(server.logs.some((l) => l.msg === 'stopped')).toBe(true);
  process.stdout.write(
    `[shutdown] ${complete} requests completed, ${handled} handled, ${afterSignal.length} clients refused after SIGTERM, exit ${code}\n`,
  );
}, 180_000);
