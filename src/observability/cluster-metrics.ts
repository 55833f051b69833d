import cluster, { type Worker } from 'node:cluster';
import { randomUUID } from 'node:crypto';
import { AggregatorRegistry } from 'prom-client';
import { registry } from './metrics.js';

/**
 * /metrics when several API processes share a port (API_PROCESSES, node:cluster): a scrape lands
 * on any one of them, and one process's counters are a fraction of the traffic. So each process
 * answers with the whole cluster's series, summed by prom-client's AggregatorRegistry in the
 * primary (https://github.com/siimon/prom-client#usage-with-nodejss-cluster-module), which asks
 * every process for its registry over the cluster's IPC channel. A single process reads its own.
 */
const ASK = 'mm:cluster-metrics:ask';
const ANSWER = 'mm:cluster-metrics:answer';
const ASK_TIMEOUT_MS = 5000;

type Ask = { type: typeof ASK; id: string };
type Answer = { type: typeof ANSWER; id: string; text?: string; error?: string };

if (cluster.isWorker) {
  // prom-client's worker side answers the primary's requests for this registry (the default one
  // is not used here).
  AggregatorRegistry.setRegistries([registry]);
  new AggregatorRegistry();
}

/** The Prometheus text a scrape of this process gets: its own, or the cluster's. */
export function metricsText(): Promise<string> {
  if (!cluster.isWorker || !process.send) return registry.metrics();
  const id = randomUUID();
  return new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      process.off('message', onMessage);
      reject(new Error(`the primary process did not answer for metrics within ${ASK_TIMEOUT_MS} ms`));
    }, ASK_TIMEOUT_MS);
    const onMessage = (message: unknown) => {
      const m = message as Partial<Answer>;
      if (m?.type !== ANSWER || m.id !== id) return;
      clearTimeout(timer);
      process.off('message', onMessage);
      if (m.text !== undefined) resolve(m.text);
      else reject(new Error(m.error ?? 'no metrics'));
    };
    process.on('message', onMessage);
    process.send!({ type: ASK, id } satisfies Ask);
  });
}

/** The primary's side: the cluster's series, and an answer to each process that asks for them. */
export function serveClusterMetrics(): { text: () => Promise<string> } {
  const aggregator = new AggregatorRegistry();
  cluster.on('message', (worker: Worker, message: unknown) => {
    const m = message as Partial<Ask>;
    if (m?.type !== ASK || typeof m.id !== 'string') return;
    const id = m.id;
    aggregator.clusterMetrics().then(
      (text) => worker.send({ type: ANSWER, id, text } satisfies Answer),
      (err: unknown) => worker.send({ type: ANSWER, id, error: String(err) } satisfies Answer),
    );
  });
  return { text: () => aggregator.clusterMetrics() };
}
