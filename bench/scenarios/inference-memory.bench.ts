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
 * Memory of the inference engine, read as this process's RSS (worker threads share it):
 * the pool with idle workers, then each cached MLP-1024 session (8.5 MB of weights) as distinct
 * versions are warmed in every worker, and the LRU bound holding when more are warmed than fit.
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

    const rss = () => {
      global.gc?.();
      return process.memoryUsage().rss;
    };
    const before = rss();
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
    try {
      const idle = rss();
      log(`pool of ${workers} idle workers: +${round((idle - before) / MB, 1)} MB`);
      const perStep: number[] = [];
      let last = idle;
      for (let i = 0; i < cacheEntries; i++) {
        await pool.warm(version(i));
        const now = rss();
        perStep.push((now - last) / workers);
        last = now;
      }
      const full = rss();
      const perSession = (full - idle) / (cacheEntries * workers);
      log(`per cached session: ${round(perSession / MB, 1)} MB`);
      // Two more versions than the cache holds: the LRU must evict, and memory must not grow much.
      await pool.warm(version(cacheEntries));
      await pool.warm(version(cacheEntries + 1));
      const afterEviction = rss();
      const stats = await pool.stats();
      return {
        metrics: {
          workers,
          'model file MB': round(statSync(path).size / MB, 1),
          'idle pool RSS MB (all workers)': round((idle - before) / MB, 1),
          'idle worker RSS MB (each)': round((idle - before) / workers / MB, 1),
          'per cached session RSS MB (mean)': round(perSession / MB, 1),
          'per cached session RSS MB (each step)': perStep.map((b) => round(b / MB, 1)).join(', '),
          [`whole pool RSS MB (${cacheEntries} sessions per worker)`]: round((full - before) / MB, 1),
          'RSS change after 2 more versions than the cache holds MB': round((afterEviction - full) / MB, 1),
          'sessions per worker after eviction': stats.map((s) => s.sessions.length).join(', '),
          'worker V8 heap MB': stats.map((s) => round(s.heapUsedBytes / MB, 1)).join(', '),
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
          'RSS is process-wide: figures are deltas, and the allocator may keep freed pages (eviction shows as a small change, not a drop).',
        ],
      };
    } finally {
      await pool.close();
    }
  },
};
