import '../support/bench-env.js';
import { statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readModelSignature } from '../../src/inference/model-signature.js';
import { InferencePool, type PoolVersion } from '../../src/inference/inference-pool.js';
import { CPU_DEVICE } from '../../src/inference/inference-devices.js';
import { ensureTestModel } from '../../src/inference/test-models.js';
import type { BenchScenario } from '../harness.js';
import { round } from '../harness.js';

const MB = 2 ** 20;

/**
 * Memory of the inference engine, read as each worker process's RSS (pool.stats()) plus what the
 * pool adds to this process: the pool with idle workers, then each cached MLP-1024 session (8.5 MB
 * of weights) as distinct versions are warmed in every worker, and the LRU bound holding when
 * more are warmed than fit. Also the address space an idle worker maps, which its RLIMIT_AS sits on.
 */
export const scenario: BenchScenario = {
  name: 'inference-memory',
  title: 'Inference memory: idle pool, per cached session (MLP-1024), whole pool',
  async run(ctx) {
    const log = (message: string) => ctx.log(message);
    const workers = 2;
    const cacheEntries = 4;
    const path = await ensureTestModel('mlp-1024', join(tmpdir(), 'mm-test-models'));
    const signature = await readModelSignature(path);
    const version = (i: number): PoolVersion => ({
      id: `mlp-1024-v${i}`,
      path,
      sizeBytes: statSync(path).size,
      ...signature,
    });

    const own = () => {
      global.gc?.();
      return process.memoryUsage().rss;
    };
    const before = own();
    const pool = await InferencePool.start({
      workers,
      devices: [CPU_DEVICE],
      deviceFallback: false,
      intraOpNumThreads: 1,
      sessionCache: { maxEntries: cacheEntries, maxBytes: 1024 * MB },
      batching: { enabled: true, maxBatchSize: 32, maxQueueDelayMs: 0 },
      maxQueuePerVersion: 256,
      timeoutMs: 60_000,
      workerMaxHeapMb: 256,
    });
    // Every worker's RSS, and this process's growth since before the pool.
    const total = async () => {
      const stats = await pool.stats();
      return { stats, workers: stats.reduce((n, s) => n + s.rssBytes, 0), own: own() - before };
    };
    try {
      const idle = await total();
      log(
        `pool of ${workers} idle workers: ${round(idle.workers / MB, 1)} MB in the workers, +${round(idle.own / MB, 1)} MB here`,
      );
      const perStep: number[] = [];
      let last = idle.workers;
      for (let i = 0; i < cacheEntries; i++) {
        await pool.warm(version(i));
        const now = (await total()).workers;
        perStep.push((now - last) / workers);
        last = now;
      }
      const full = await total();
      const perSession = (full.workers - idle.workers) / (cacheEntries * workers);
      log(`per cached session: ${round(perSession / MB, 1)} MB`);
      // Two more versions than the cache holds: the LRU must evict, and memory must not grow much.
      await pool.warm(version(cacheEntries));
      await pool.warm(version(cacheEntries + 1));
      const afterEviction = await total();
      const stats = afterEviction.stats;
      return {
        metrics: {
          workers,
          'model file MB': round(statSync(path).size / MB, 1),
          'idle pool RSS MB (all workers)': round(idle.workers / MB, 1),
          'idle worker RSS MB (each)': round(idle.workers / workers / MB, 1),
          'idle worker address space MB (each, what RLIMIT_AS is added to)': round(idle.stats[0].vmBytes / MB, 1),
          'pool cost in this process MB': round(idle.own / MB, 1),
          'per cached session RSS MB (mean)': round(perSession / MB, 1),
          ...Object.fromEntries(perStep.map((b, i) => [`cached session ${i + 1} RSS MB`, round(b / MB, 1)])),
          'per cached session, as the cache counts it MB': round(
            stats[0].cacheBytes / stats[0].sessions.length / MB,
            1,
          ),
          [`whole pool RSS MB (${cacheEntries} sessions per worker)`]: round(full.workers / MB, 1),
          'RSS change after 2 more versions than the cache holds MB': round(
            (afterEviction.workers - full.workers) / MB,
            1,
          ),
          ...Object.fromEntries(stats.map((s, i) => [`worker ${i + 1} sessions after eviction`, s.sessions.length])),
          ...Object.fromEntries(stats.map((s, i) => [`worker ${i + 1} V8 heap MB`, round(s.heapUsedBytes / MB, 1)])),
        },
        targets: [
          {
            name: 'LRU holds the session count bound',
            value: Math.max(...stats.map((s) => s.sessions.length)),
            target: `<= ${cacheEntries}`,
            pass: stats.every((s) => s.sessions.length <= cacheEntries),
          },
        ],
        notes: [
          "Workers are processes: their RSS is their own. Under the development TypeScript loader (npm run bench) each carries the loader's compiler too; the built image's workers start near 90 MB.",
          'The allocator may keep freed pages (eviction shows as a small change, not a drop).',
        ],
      };
    } finally {
      await pool.close();
    }
  },
};
