import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readModelSignature } from '../../src/inference/model-signature.js';
import { InferencePool, type PoolOptions, type PoolVersion } from '../../src/inference/inference-pool.js';
import { CPU_DEVICE } from '../../src/inference/inference-devices.js';
import { ensureTestModel, TEST_MODELS, TEST_MODELS_DIR, type TestModelName } from '../../src/inference/test-models.js';
import { statSync } from 'node:fs';

/** Pool settings for tests: small, one worker unless a test says otherwise. */
export function testPoolOptions(overrides: Partial<PoolOptions> = {}): PoolOptions {
  return {
    workers: 1,
    devices: [CPU_DEVICE],
    deviceFallback: false,
    intraOpNumThreads: 1,
    sessionCache: { maxEntries: 8, maxBytes: 256 * 2 ** 20 },
    batching: { enabled: true, maxBatchSize: 64, maxQueueDelayMs: 0 },
    maxQueuePerVersion: 256,
    timeoutMs: 30_000,
    workerMaxHeapMb: 256,
    ...overrides,
  };
}

export const startTestPool = (overrides: Partial<PoolOptions> = {}) => InferencePool.start(testPoolOptions(overrides));

/** A test model as the pool sees a READY version (the id is the model's name plus a suffix). */
export async function poolVersion(name: TestModelName, extra: Partial<PoolVersion> = {}): Promise<PoolVersion> {
  const path = TEST_MODELS[name].large
    ? await ensureTestModel(name, join(tmpdir(), 'mm-test-models'))
    : join(TEST_MODELS_DIR, TEST_MODELS[name].fileName);
  const signature = await readModelSignature(path);
  return { id: `${name}-v1`, path, sizeBytes: statSync(path).size, ...signature, ...extra };
}
