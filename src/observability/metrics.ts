import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * The process's Prometheus metrics, served as text at `GET /metrics`. One registry per process
 * (module state): every feature registers its metrics here, by name, in this file, so a reader
 * finds every series an operator can chart in one place. Labels are bounded sets (operation
 * names come from the documents clients send, so they are capped in `operationLabel`).
 */
export const registry = new Registry();
collectDefaultMetrics({ register: registry });

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export const httpRequestDuration = new Histogram({
  name: 'http_request_duration_seconds',
  help: 'HTTP requests by method, route and status code.',
  labelNames: ['method', 'route', 'status'] as const,
  buckets: LATENCY_BUCKETS,
  registers: [registry],
});

export const graphqlOperationDuration = new Histogram({
  name: 'graphql_operation_duration_seconds',
  help: 'GraphQL operations (HTTP and WebSocket) by operation name and type.',
  labelNames: ['operation', 'type', 'transport'] as const,
  buckets: LATENCY_BUCKETS,
  registers: [registry],
});

export const graphqlErrors = new Counter({
  name: 'graphql_errors_total',
  help: 'GraphQL errors returned to clients, by extensions.code.',
  labelNames: ['code', 'operation'] as const,
  registers: [registry],
});

export const sqlStatementsPerOperation = new Histogram({
  name: 'graphql_sql_statements',
  help: 'SQL statements one GraphQL operation took (N+1 regressions show here first).',
  labelNames: ['operation'] as const,
  buckets: [0, 1, 2, 4, 8, 16, 32, 64, 128],
  registers: [registry],
});

export const websocketConnections = new Gauge({
  name: 'websocket_connections_open',
  help: 'Open graphql-ws connections.',
  registers: [registry],
});

export const inferenceDuration = new Histogram({
  name: 'inference_duration_seconds',
  help: 'onnxruntime run time per batch, by model version and device.',
  labelNames: ['model', 'device'] as const,
  buckets: LATENCY_BUCKETS,
  registers: [registry],
});

export const inferenceBatchSize = new Histogram({
  name: 'inference_batch_size',
  help: 'Requests merged into one onnxruntime run by the dynamic batcher.',
  labelNames: ['model'] as const,
  buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256],
  registers: [registry],
});

/** What the inference gauges read at scrape time: the process's pool, once wired. */
type PoolProbe = { health(): { size: number; ready: number; busy: number; queued: number } };
let inferencePool: PoolProbe | undefined;

/** Points the inference gauges at this process's pool (src/app.ts) until the returned function is called. */
export function observeInferencePool(pool: PoolProbe): () => void {
  inferencePool = pool;
  return () => {
    if (inferencePool === pool) inferencePool = undefined;
  };
}

export const inferenceQueueDepth = new Gauge({
  name: 'inference_queue_depth',
  help: 'Requests waiting in the inference pool.',
  registers: [registry],
  collect() {
    if (inferencePool) this.set(inferencePool.health().queued);
  },
});

export const inferenceWorkersBusy = new Gauge({
  name: 'inference_workers_busy',
  help: 'Inference workers running a batch now (utilisation = busy / size).',
  registers: [registry],
  collect() {
    if (inferencePool) this.set(inferencePool.health().busy);
  },
});

export const inferenceWorkers = new Gauge({
  name: 'inference_workers',
  help: 'Inference workers in the pool that are up and ready.',
  registers: [registry],
  collect() {
    if (inferencePool) this.set(inferencePool.health().ready);
  },
});

const MAX_VERSION_LABELS = 200;
const seenVersions = new Set<string>();

/** A version label: its id for the first 200 distinct versions seen, `other` after (bounded series). */
export function versionLabel(versionId: string): string {
  if (seenVersions.has(versionId)) return versionId;
  if (seenVersions.size >= MAX_VERSION_LABELS) return 'other';
  seenVersions.add(versionId);
  return versionId;
}

export const jobOutcomes = new Counter({
  name: 'prediction_jobs_total',
  help: 'Predictions that reached a final state, by mode (SYNC/ASYNC) and status.',
  labelNames: ['mode', 'status'] as const,
  registers: [registry],
});

export const predictionStreamRecheckDeliveries = new Counter({
  name: 'prediction_stream_recheck_deliveries_total',
  help: 'States a predictionUpdated stream delivered from its re-check, because no event had brought them: lost or very late events.',
  registers: [registry],
});

/** What the prediction queue gauges read at scrape time: the process's job queue, once wired. */
type QueueProbe = {
  counts(): Promise<{ waiting: number }>;
  nextWaitingSince(): Promise<number | undefined>;
};
let predictionQueue: QueueProbe | undefined;

/**
 * Points the queue gauges at this process's prediction queue (src/composition/infrastructure.ts)
 * until the returned function is called. They are read on each scrape, not on a timer, so a
 * process nobody scrapes (a worker) asks Redis nothing. A read that fails or takes over a second
 * leaves the last value: /metrics still answers while Redis is away (readiness reports that).
 */
export function observePredictionQueue(queue: QueueProbe): () => void {
  predictionQueue = queue;
  return () => {
    if (predictionQueue === queue) predictionQueue = undefined;
  };
}

async function probe<T>(read: (queue: QueueProbe) => Promise<T>): Promise<{ value: T } | undefined> {
  const queue = predictionQueue;
  if (!queue) return undefined;
  let timer: NodeJS.Timeout | undefined;
  try {
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('queue probe timed out')), 1000);
      timer.unref();
    });
    return { value: await Promise.race([read(queue), timeout]) };
  } catch {
    return undefined;
  } finally {
    clearTimeout(timer);
  }
}

export const jobQueueDepth = new Gauge({
  name: 'prediction_queue_depth',
  help: 'Async predictions waiting in the job queue.',
  registers: [registry],
  async collect() {
    const read = await probe((q) => q.counts());
    if (read) this.set(read.value.waiting);
  },
});

export const jobQueueAge = new Gauge({
  name: 'prediction_queue_oldest_age_seconds',
  help: 'How long the async prediction next in line has been queued (since first added; 0 when none waits).',
  registers: [registry],
  async collect() {
    const read = await probe((q) => q.nextWaitingSince());
    if (read) this.set(read.value === undefined ? 0 : Math.max(0, (Date.now() - read.value) / 1000));
  },
});

const MAX_OPERATION_LABELS = 200;
const seenOperations = new Set<string>();

/**
 * A label for an operation name: its own name for the first 200 distinct names, `other` after,
 * so that a client inventing names cannot grow the series without bound.
 */
export function operationLabel(name: string | null | undefined): string {
  if (!name) return 'anonymous';
  const clean = name.slice(0, 64);
  if (seenOperations.has(clean)) return clean;
  if (seenOperations.size >= MAX_OPERATION_LABELS) return 'other';
  seenOperations.add(clean);
  return clean;
}
