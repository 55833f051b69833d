import cluster, { type Worker } from 'node:cluster';
import { availableParallelism } from 'node:os';
import type { Config } from '../config.js';
import { startMetricsServer } from '../http/metrics.routes.js';
import { serveClusterMetrics } from '../observability/cluster-metrics.js';
import { createLogger, resolveLogFormat } from '../shared/logger.js';
import { SHUTDOWN_MARGIN_MS, stopOnSignals } from '../shared/process-lifecycle.js';

/** A process that dies sooner than this after its start counts as crash-looping: its restart waits longer. */
const STABLE_AFTER_MS = 10_000;
const MAX_RESTART_DELAY_MS = 30_000;

/**
 * API_PROCESSES > 1: the primary of a node:cluster (https://nodejs.org/api/cluster.html). It runs
 * no app, only forks API processes (src/main.ts again, each a whole API with its own connections,
 * inference pool and job consumers) that share one listening port; the primary accepts each
 * connection and hands it to the next process in turn (the cluster's round-robin, Linux's
 * default). They share nothing but PostgreSQL and Redis, exactly like replicas on separate hosts,
 * which is why the config refuses more than one without both. The primary restarts a process that
 * dies (after a delay that grows while it keeps dying young), serves METRICS_PORT with the whole
 * cluster's series, and on SIGTERM stops every process and waits for them to drain.
 */
export async function runApiCluster(config: Config, started: number): Promise<void> {
  const logger = createLogger(config.logLevel, { role: 'api-primary' }, resolveLogFormat(config.logFormat, config.env));
  const n = config.apiProcesses;
  // INFERENCE_WORKERS is per process; left unset, the host's cores are shared out rather than
  // every process starting one sandbox per core.
  const env: Record<string, string> = {};
  if (!process.env.INFERENCE_WORKERS)
    env.INFERENCE_WORKERS = String(Math.max(1, Math.floor(availableParallelism() / n)));
  const metrics = serveClusterMetrics();
  const metricsServer = await startMetricsServer(config.metrics, config.host, metrics.text);

  let stopping = false;
  const bornAt = new Map<number, number>();
  const listening = new Set<number>();
  let restartDelayMs = 1000;
  let readyLogged = false;
  const fork = (): Worker => {
    const worker = cluster.fork(env);
    bornAt.set(worker.id, Date.now());
    return worker;
  };

  cluster.on('listening', (worker, address) => {
    listening.add(worker.id);
    if (readyLogged || listening.size < n) return;
    readyLogged = true;
    const host =
      !address.address || address.address === '0.0.0.0' || address.address === '::' ? 'localhost' : address.address;
    const url = `http://${host}:${address.port}/graphql`;
    logger.info(
      {
        url,
        processes: n,
        inferenceWorkersPerProcess: env.INFERENCE_WORKERS ?? process.env.INFERENCE_WORKERS,
        startupMs: Math.round(performance.now() - started),
      },
      `ready on ${url} (${n} API processes)`,
    );
  });
  cluster.on('exit', (worker, code, signal) => {
    listening.delete(worker.id);
    const lived = Date.now() - (bornAt.get(worker.id) ?? 0);
    bornAt.delete(worker.id);
    if (stopping) return;
    restartDelayMs = lived > STABLE_AFTER_MS ? 1000 : Math.min(restartDelayMs * 2, MAX_RESTART_DELAY_MS);
    logger.error(
      { apiProcess: worker.id, pid: worker.process.pid, code, signal, livedMs: lived, restartInMs: restartDelayMs },
      'an API process exited: starting another',
    );
    setTimeout(() => {
      if (!stopping) fork();
    }, restartDelayMs).unref();
  });

  for (let i = 0; i < n; i++) fork();

  stopOnSignals(
    logger,
    async (step) => {
      stopping = true;
      step('api processes');
      // Each drains as a single API does (its own SIGTERM handling); the primary waits for all.
      const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined);
      const exits = workers.map((w) => new Promise<number>((resolve) => w.once('exit', (code) => resolve(code ?? 1))));
      for (const w of workers) w.process.kill('SIGTERM');
      const codes = await Promise.all(exits);
      step('metrics server');
      await metricsServer?.close();
      const failed = codes.filter((c) => c !== 0).length;
      if (failed) throw new Error(`${failed} of ${codes.length} API processes did not stop cleanly`);
    },
    // The processes' own deadline, plus a margin for the last of them to report.
    { deadlineMs: config.shutdownGraceMs + 2 * SHUTDOWN_MARGIN_MS },
  );
}
