// One model version's waiting requests and the rule that turns them into batches: the
// scheduling data of the pool, kept apart from the worker lifecycle in inference-pool.ts.
import { batchAxis, splitBatch, type BatchingSettings } from './batching.js';
import { modelError } from './inference.errors.js';
import { inferenceBatchSize, inferenceDuration, versionLabel } from '../observability/metrics.js';
import type { PoolVersion, RunResult } from './pool-options.js';
import type { WireTensor } from './tensor-types.js';

/** A request waiting for (or running in) a worker. */
export type Pending = {
  tensors: WireTensor[];
  /** Rows along the batch axis (1 when the version does not batch). */
  rows: number;
  /** Requests batch together only with the same key (see compatibilityKey), outputs included. */
  key: string;
  /** The outputs to compute, in signature order; absent: all of them. */
  outputs?: readonly string[];
  enqueuedAt: number;
  timeoutMs: number;
  timer?: NodeJS.Timeout;
  settled: boolean;
  resolve(r: RunResult): void;
  reject(e: Error): void;
};

export type VersionQueue = {
  version: PoolVersion;
  settings: BatchingSettings;
  /** Set when the version can be batched at all (see batchAxis). */
  batchable: boolean;
  items: Pending[];
};

const isBatchable = (settings: BatchingSettings, v: PoolVersion) =>
  settings.enabled && settings.maxBatchSize > 1 && batchAxis(v.inputs, v.outputs) !== undefined;

/** A queue for `version`, its settings being the engine defaults under the version's own. */
export function makeVersionQueue(version: PoolVersion, defaults: BatchingSettings): VersionQueue {
  const settings = { ...defaults, ...(version.batching ?? {}) };
  return { version, settings, batchable: isBatchable(settings, version), items: [] };
}

/**
 * Takes in a version's latest row. Settings may change (ModelVersion.batching); they apply once
 * nothing queued depends on the old ones (queued requests carry rows and keys computed under them).
 */
export function refreshVersionQueue(q: VersionQueue, version: PoolVersion, defaults: BatchingSettings): void {
  q.version = version;
  if (q.items.length > 0) return;
  q.settings = { ...defaults, ...(version.batching ?? {}) };
  q.batchable = isBatchable(q.settings, version);
}

/**
 * When the queue may be dispatched (a performance.now() time): at once when it holds a full
 * batch or cannot batch, else when its oldest request has waited maxQueueDelayMs.
 */
export function readyAt(q: VersionQueue): number {
  if (!q.batchable) return -Infinity;
  if (q.items.reduce((n, p) => n + p.rows, 0) >= q.settings.maxBatchSize) return -Infinity;
  return q.items[0].enqueuedAt + q.settings.maxQueueDelayMs;
}

/** The oldest request and those after it that fit beside it, up to maxBatchSize rows. */
export function takeBatch(q: VersionQueue): Pending[] {
  const first = q.items.shift()!;
  const batch = [first];
  if (!q.batchable) return batch;
  let rows = first.rows;
  for (let i = 0; i < q.items.length && rows < q.settings.maxBatchSize;) {
    const p = q.items[i];
    if (p.key === first.key && rows + p.rows <= q.settings.maxBatchSize) {
      q.items.splice(i, 1);
      batch.push(p);
      rows += p.rows;
    } else i++;
  }
  return batch;
}

/** Settles a request once (its timer, a result, a failure: whichever comes first wins). */
export function settle(p: Pending, err: Error | null, result?: RunResult): void {
  if (p.settled) return;
  p.settled = true;
  clearTimeout(p.timer);
  if (err) p.reject(err);
  else p.resolve(result!);
}

/** Gives each request of a batch its own rows of the outputs (all of them when it ran alone). */
export function deliverBatch(
  requests: readonly Pending[],
  outputs: WireTensor[],
  run: { versionId: string; device: string; inferenceTimeMs: number; dispatchedAt: number },
): void {
  const model = versionLabel(run.versionId);
  inferenceDuration.observe({ model, device: run.device }, run.inferenceTimeMs / 1000);
  inferenceBatchSize.observe({ model }, requests.length);
  const base = { device: run.device, batchSize: requests.length, inferenceTimeMs: run.inferenceTimeMs };
  if (requests.length === 1) {
    const p = requests[0];
    settle(p, null, { ...base, outputs, queueTimeMs: run.dispatchedAt - p.enqueuedAt });
    return;
  }
  let parts: WireTensor[][];
  try {
    parts = splitBatch(
      outputs,
      requests.map((p) => p.rows),
    );
  } catch (err) {
    for (const p of requests) settle(p, modelError((err as Error).message));
    return;
  }
  requests.forEach((p, i) =>
    settle(p, null, { ...base, outputs: parts[i], queueTimeMs: run.dispatchedAt - p.enqueuedAt }),
  );
}
