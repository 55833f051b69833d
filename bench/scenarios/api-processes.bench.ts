import '../support/bench-env.js';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { deleteRedisKeys, startApiProcess, stopAll } from '../../test/support/app-processes.js';
import { createTestDatabase } from '../../test/support/test-database.js';
import type { BenchScenario } from '../harness.js';
import { latency, round } from '../harness.js';
import { load, type LoadResult } from '../support/load.js';

/**
 * What API_PROCESSES buys on this host: the API as an operator starts it (src/main.ts, its own
 * process tree) with one process, then with two behind the same port (node:cluster), on the same
 * PostgreSQL and Redis, loaded by autocannon from another process with the same request: an
 * anonymous `{ me { id } }`, which touches no database, so the figure is the GraphQL-over-HTTP
 * path each process adds. Alternating rounds, median of the ratios. No target: the gain is
 * bounded by the host's cores, which the load generator shares (2 here).
 */
export const scenario: BenchScenario = {
  name: 'api-processes',
  title: 'API_PROCESSES=2 vs 1 on one host: throughput of one port, load from another process',
  async run({ log, quick }) {
    const redisUrl = process.env.REDIS_URL;
    if (!process.env.DATABASE_URL || !redisUrl) throw new Error('api-processes needs DATABASE_URL and REDIS_URL');
    const seconds = quick ? 2 : 8;
    const rounds = quick ? 1 : 3;
    const connections = 32;
    const db = await createTestDatabase();
    const dataDir = mkdtempSync(join(tmpdir(), 'mm-bench-cluster-'));
    const prefixes = [`bench-${randomUUID()}`, `bench-${randomUUID()}:`];
    const env = (processes: number) => ({
      API_PROCESSES: String(processes),
      DATABASE_URL: db.databaseUrl!,
      REDIS_URL: redisUrl,
      QUEUE_PREFIX: prefixes[0],
      PUBSUB_PREFIX: prefixes[1],
      DATA_DIR: dataDir,
      JWT_SECRET: `b1:${randomBytes(32).toString('hex')}`,
      MIGRATE_ON_START: 'true',
      INFERENCE_START: 'lazy',
      INFERENCE_WORKERS: '1',
      // info, as deployed: the ready line the harness waits for, and one line per operation.
      LOG_LEVEL: 'info',
    });
    const body = JSON.stringify({ query: '{ me { id } }' });
    const measure = async (processes: number): Promise<LoadResult> => {
      const api = await startApiProcess(env(processes));
      try {
        const url = `${api.origin}/graphql`;
        await load({ url, body, connections, seconds: 1 });
        return await load({ url, body, connections, seconds });
      } finally {
        await api.stop();
      }
    };
    try {
      const one: LoadResult[] = [];
      const two: LoadResult[] = [];
      for (let r = 0; r < rounds; r++) {
        log(`round ${r + 1}/${rounds}: 1 process, then 2, ${connections} connections for ${seconds}s each`);
        one.push(await measure(1));
        two.push(await measure(2));
      }
      const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
      const pick = (rs: LoadResult[]) => rs.find((r) => r.rps === median(rs.map((x) => x.rps)))!;
      const [a, b] = [pick(one), pick(two)];
      const failed = [...one, ...two].reduce((n, r) => n + r.failed, 0);
      if (failed) throw new Error(`${failed} requests failed`);
      return {
        metrics: {
          'host cores': availableParallelism(),
          '1 process req/s': round(a.rps, 0),
          '2 processes req/s': round(b.rps, 0),
          ...latency('1 process', a.p50Ms, a.p99Ms),
          ...latency('2 processes', b.p50Ms, b.p99Ms),
          'ratio 2 / 1 processes (median of rounds)': round(median(two.map((t, i) => t.rps / one[i].rps)), 2),
        },
        notes: ['the load generator runs on the same cores as the API processes'],
      };
    } finally {
      await stopAll();
      await db.drop();
      await deleteRedisKeys(redisUrl, prefixes);
      rmSync(dataDir, { recursive: true, force: true });
    }
  },
};
