// API_PROCESSES: several API processes on one host behind one port (node:cluster), sharing
// PostgreSQL and Redis, started as an operator starts them (src/main.ts). Connections are spread
// over the processes, a scrape of /metrics on any of them counts the whole cluster's traffic, a
// process that dies is replaced while the others keep serving, and SIGTERM stops them all.
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deleteRedisKeys, startApiProcess, stopAll, type AppProcess, type Log } from '../support/app-processes.js';
import { createTestDatabase } from '../support/test-database.js';
import { waitFor } from '../support/processes.js';

const redisUrl = process.env.REDIS_URL;
const databaseUrl = process.env.DATABASE_URL;
const withServices = redisUrl && databaseUrl ? describe : describe.skip;

/** One request on a connection of its own (`agent: false`), so the cluster places each one anew. */
function once(origin: string, path: string, body?: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${origin}${path}`,
      {
        method: body ? 'POST' : 'GET',
        agent: false,
        headers: body ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } : {},
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const QUERY = JSON.stringify({ query: 'query ClusterProbe { me { id } }' });
const operationLines = (logs: Log[]) =>
  logs.filter((l) => l.msg === 'graphql operation' && l.operation === 'ClusterProbe');
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

withServices('API_PROCESSES=2: two API processes behind one port', () => {
  const queuePrefix = `test-${randomUUID()}`;
  const pubSubPrefix = `test-${randomUUID()}:`;
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let dataDir: string;
  let api: AppProcess;

  beforeAll(async () => {
    db = await createTestDatabase();
    dataDir = mkdtempSync(join(tmpdir(), 'mm-cluster-'));
    api = await startApiProcess({
      API_PROCESSES: '2',
      DATABASE_URL: db.databaseUrl!,
      REDIS_URL: redisUrl!,
      QUEUE_PREFIX: queuePrefix,
      PUBSUB_PREFIX: pubSubPrefix,
      DATA_DIR: dataDir,
      JWT_SECRET: `t1:${randomBytes(32).toString('hex')}`,
      MIGRATE_ON_START: 'true',
      INFERENCE_START: 'lazy',
      INFERENCE_WORKERS: '1',
    });
  }, 180_000);

  afterAll(async () => {
    await stopAll();
    await db?.drop();
    if (redisUrl) await deleteRedisKeys(redisUrl, [queuePrefix, pubSubPrefix]);
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  }, 60_000);

  const servedBy = (lines: Log[]) => new Set(lines.map((l) => l.pid as number));

  it('says it is ready once both processes listen, and spreads connections over them', async () => {
    const ready = api.logs.find((l) => typeof l.startupMs === 'number')!;
    expect(ready).toMatchObject({ processes: 2, role: 'api-primary' });
    // Each process writes its own line to the shared stdout, so the primary's ready line can come
    // before the last of them; both must appear, and no more.
    const listening = await waitFor('both processes to say they listen', () => {
      const l = api.logs.filter((line) => line.msg === 'API process listening');
      return l.length >= 2 ? l : undefined;
    });
    expect(listening).toHaveLength(2);
    for (let i = 0; i < 30; i++) expect((await once(api.origin, '/graphql', QUERY)).status).toBe(200);
    const lines = await waitFor('30 operation log lines', () => {
      const l = operationLines(api.logs);
      return l.length >= 30 ? l : undefined;
    });
    // The cluster's round-robin: each process took a fair share.
    const counts = [...servedBy(lines)].map((pid) => lines.filter((l) => l.pid === pid).length);
    expect(counts).toHaveLength(2);
    expect(Math.min(...counts)).toBeGreaterThanOrEqual(10);
  }, 60_000);

  it('answers /metrics from any process with the whole cluster’s counts', async () => {
    const before = operationLines(api.logs).length;
    for (let i = 0; i < 4; i++) expect((await once(api.origin, '/graphql', QUERY)).status).toBe(200);
    const served = (
      await waitFor('4 more operation lines', () => {
        const l = operationLines(api.logs);
        return l.length >= before + 4 ? l : undefined;
      })
    ).length;
    for (let i = 0; i < 4; i++) {
      const { status, text } = await once(api.origin, '/metrics');
      expect(status).toBe(200);
      const count = /^graphql_operation_duration_seconds_count\{[^}]*operation="ClusterProbe"[^}]*\} (\d+)$/m.exec(
        text,
      );
      expect(Number(count?.[1])).toBe(served);
    }
  }, 30_000);

  it('replaces a process that dies, and keeps serving on the other meanwhile', async () => {
    const pids = api.logs.filter((l) => l.msg === 'API process listening').map((l) => l.pid as number);
    const victim = pids[0];
    expect(typeof victim).toBe('number');
    process.kill(victim, 'SIGKILL');
    await waitFor('the primary to see it exit', () =>
      api.logs.find((l) => l.msg === 'an API process exited: starting another' && l.pid === victim),
    );
    // Until the replacement listens, the survivor takes every connection.
    for (let i = 0; i < 5; i++) expect((await once(api.origin, '/graphql', QUERY)).status).toBe(200);
    await waitFor('a third process to listen', () => {
      const listening = api.logs.filter((l) => l.msg === 'API process listening');
      return listening.length >= 3 ? true : undefined;
    });
    const before = operationLines(api.logs).length;
    for (let i = 0; i < 20; i++) expect((await once(api.origin, '/graphql', QUERY)).status).toBe(200);
    const after = await waitFor('20 more lines', () => {
      const l = operationLines(api.logs);
      return l.length >= before + 20 ? l.slice(before) : undefined;
    });
    const now = servedBy(after);
    expect(now.size).toBe(2);
    expect(now.has(victim)).toBe(false);
  }, 90_000);

  it('stops every process on SIGTERM and exits 0', async () => {
    const pids = [...servedBy(operationLines(api.logs).slice(-20))];
    await api.stop(30_000);
    expect(await api.exited).toBe(0);
    expect(pids.filter(alive)).toEqual([]);
  }, 60_000);
});
