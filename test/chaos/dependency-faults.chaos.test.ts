// Dependency faults under load (issue 9): the suite's own Redis and PostgreSQL (never the
// machine's, which other tests use) are stopped and started again while an API replica and a
// worker process serve sync predictions, queued jobs, graphql-ws subscriptions and uploads.
// While a dependency is down clients get clear errors (SERVICE_UNAVAILABLE, never a hang or an
// unmasked crash) and /health/ready says 503; afterwards the processes have reconnected by
// themselves and the database, the record of truth, shows every accepted job final exactly once
// with exactly one usage record per SUCCEEDED prediction.
//
// Redis runs WITHOUT persistence here, on purpose: a restart loses every queued BullMQ job, the
// worst case. The sweeper (AsyncPredictionService.sweep) re-enqueues QUEUED/RUNNING rows the queue
// no longer holds, so nothing accepted is lost even then. Production should still run Redis with
// an append-only file (README, "Operation"): without it, jobs wait for the sweeper after a restart.
import { execFileSync } from 'node:child_process';
import pg from 'pg';
import { startApiProcess, startWorkerProcess, stopAll, type AppProcess } from '../support/app-processes.js';
import { expectBooksBalance, reportFaultRun, settleAndAccount, type Accounting } from './support/accounting.js';
import { startChaosCluster, type ChaosCluster } from './support/chaos-cluster.js';
import {
  followMyEvents,
  followPrediction,
  LoadDriver,
  probeReadiness,
  reconnectingClient,
} from './support/load-driver.js';
import { canRunPostgres } from './support/postgres-instance.js';
import { sleep, until, within } from './support/spare-port.js';

const hasRedis = (() => {
  try {
    execFileSync('redis-server', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
const canRun = hasRedis && canRunPostgres();
if (!canRun) process.stdout.write('[dependency-faults] needs redis-server and PostgreSQL binaries: skipped\n');
const suite = canRun ? describe : describe.skip;

/** What a client may see while a dependency is down: an answer, or a clear retryable error. */
const CLEAR = new Set(['OK', 'SERVICE_UNAVAILABLE']);

suite('dependency faults: Redis and PostgreSQL restarts under load', () => {
  let cluster: ChaosCluster;
  let api: AppProcess;
  let worker: AppProcess;
  let uploads = 0;

  beforeAll(async () => {
    cluster = await startChaosCluster();
    try {
      [api, worker] = await Promise.all([
        startApiProcess(cluster.env({ RUN_JOBS: 'false' })),
        startWorkerProcess(cluster.env()),
      ]);
    } catch (err) {
      await stopAll();
      await cluster.dispose();
      throw err;
    }
  }, 120_000);

  afterAll(async () => {
    await stopAll();
    await cluster?.dispose();
  }, 60_000);

  async function versionStatuses(ids: string[]) {
    if (!ids.length) return [];
    const c = new pg.Client({ connectionString: cluster.databaseUrl });
    await c.connect();
    try {
      return (
        await c.query<{ id: string; status: string }>('select id, status from model_versions where id = any($1)', [ids])
      ).rows;
    } finally {
      await c.end();
    }
  }

  /**
   * Steady load, then `stop` the dependency for `downMs`, `start` it, and keep the load on until
   * the API is ready again and has answered for a while; then settle and account.
   */
  async function faultUnderLoad(
    fault: string,
    dependency: { stop(): Promise<void>; start(): Promise<void> },
    premise: { queueLost?: boolean } = {},
  ) {
    const load = new LoadDriver({
      origins: () => [api.origin],
      authorization: cluster.consumerAuth,
      modelId: cluster.modelId,
      requestTimeoutMs: 15_000,
    });
    const client = reconnectingClient(() => [api.origin], cluster.consumerAuth);
    const events = followMyEvents(client);
    const followers: ReturnType<typeof followPrediction>[] = [];
    const followedPerPhase = new Map<string, number>();
    load.onAccepted = (id) => {
      const n = followedPerPhase.get(load.phase) ?? 0;
      if (n >= 4) return;
      followedPerPhase.set(load.phase, n + 1);
      followers.push(followPrediction(client, id));
    };
    const readiness = probeReadiness(() => api.origin, load);
    const uploaded: { phase: string; outcome: string; versionId?: string }[] = [];
    const upload = async () => {
      const phase = load.phase;
      const r = await cluster.upload(api.origin, `2.0.${++uploads}`);
      uploaded.push({ phase, ...r });
    };
    let acc: Accounting | undefined;
    const since = new Date();
    const workerLogsBefore = worker.logs.length;
    try {
      // createPrediction is retried with its idempotency key through the outage (every 0.5 s), as a
      // client does with a retryable error: one that committed before its answer failed is found.
      load.start({ sync: 2, async: 2, pauseMs: 120, retries: 12 });
      await sleep(1500);
      await upload();
      load.phase = 'down';
      await dependency.stop();
      const during = upload();
      await sleep(Number(process.env.CHAOS_DOWN_MS ?? 2500));
      await dependency.start();
      load.phase = 'after';
      await until(
        async () => {
          const res = await fetch(`${api.origin}/health/ready`).catch(() => undefined);
          return res?.status === 200;
        },
        `${fault}: /health/ready back to 200`,
        30_000,
      );
      await during;
      await sleep(2500);
      await upload();
      await load.stop();
      await readiness.stop();

      acc = await settleAndAccount(cluster.databaseUrl, load, since, 45_000);
      // Every followed job's stream ends, with the state the database holds.
      await Promise.all(followers.map((f) => within(f.done, 15_000, 'hung' as const)));
      // A subscription started while the database was down is refused with SERVICE_UNAVAILABLE
      // (its current state cannot be read); the client subscribes again, as it would.
      const refused = followers.filter((f) => f.seen.at(-1) === 'error:SERVICE_UNAVAILABLE');
      const final = followers.map((f) => (refused.includes(f) ? followPrediction(client, f.id) : f));
      followers.push(...final.filter((f) => !followers.includes(f)));
      // (A stream that already ended resolves at once.)
      const ended = await Promise.all(final.map((f) => within(f.done, 15_000, 'hung' as const)));
      // myPredictionEvents is subscribed again after the restart: jobs accepted afterwards reach it.
      const afterJobs = [...load.acceptedIn].filter(([, phase]) => phase === 'after').map(([id]) => id);
      const FINAL = ['SUCCEEDED', 'FAILED', 'CANCELED'];
      const streamedFinal = () => afterJobs.filter((id) => FINAL.includes(events.statuses.get(id)?.at(-1) ?? ''));
      await until(
        () => streamedFinal().length === afterJobs.length,
        'myPredictionEvents after the fault',
        10_000,
      ).catch(() => undefined);
      await until(
        async () =>
          (await versionStatuses(uploaded.flatMap((u) => u.versionId ?? []))).every((v) => v.status !== 'PROCESSING'),
        'uploaded versions to be validated',
        20_000,
      ).catch(() => undefined);
      const versions = await versionStatuses(uploaded.flatMap((u) => u.versionId ?? []));

      const outcomes = load.flatOutcomes();
      for (const u of uploaded)
        outcomes[`upload:${u.phase}:${u.outcome}`] = (outcomes[`upload:${u.phase}:${u.outcome}`] ?? 0) + 1;
      for (const v of versions) outcomes[`version:${v.status}`] = (outcomes[`version:${v.status}`] ?? 0) + 1;
      for (const phase of ['before', 'down', 'after'])
        for (const [code, n] of Object.entries(readiness.of(phase))) outcomes[`ready:${phase}:${code}`] = n;
      ended.forEach((how) => (outcomes[`predictionUpdated:${how}`] = (outcomes[`predictionUpdated:${how}`] ?? 0) + 1));
      outcomes['predictionUpdated:refusedWhileDown'] = refused.length;
      // Jobs the sweeper put back because the queue had lost them (Redis restarted empty).
      outcomes['sweeper:requeued'] = worker.logs
        .slice(workerLogsBefore)
        .filter((l) => l.msg === 'prediction sweeper')
        .reduce((n, l) => n + Number(l.requeued ?? 0), 0);
      outcomes['ws:connects'] = client.connects;
      outcomes['myPredictionEvents:after:final'] = streamedFinal().length;
      outcomes['myPredictionEvents:after:missing'] = afterJobs.length - streamedFinal().length;
      reportFaultRun('dependency-faults', fault, { tried: load.total() + uploaded.length, outcomes, load, acc });
      // What the processes logged about a job that did not settle (to find out why).
      for (const id of [...acc.notFinal, ...acc.orphansNotFinal].slice(0, 3)) {
        const mentions = [...api.logs, ...worker.logs].filter((l) => JSON.stringify(l).includes(id));
        process.stdout.write(`  not final ${id}: ${JSON.stringify(mentions).slice(0, 3000)}\n`);
      }

      // Nothing crashed: both processes are the ones started before the fault.
      expect({ api: api.child.exitCode, worker: worker.child.exitCode }).toEqual({ api: null, worker: null });
      // Clients saw answers or clear retryable errors; never a hang, a cut connection or a masked crash.
      for (const phase of ['before', 'down', 'after']) {
        const unclear = Object.keys(load.phaseOutcomes(phase)).filter((o) => !CLEAR.has(o));
        expect({ phase, unclear, samples: unclear.map((o) => load.samples.get(o)) }).toEqual({
          phase,
          unclear: [],
          samples: [],
        });
      }
      expect(load.phaseOutcomes('after').OK ?? 0).toBeGreaterThan(0);
      // Readiness: false while down, true again after (never unanswered).
      expect(readiness.of('down')['503'] ?? 0).toBeGreaterThan(0);
      expect(readiness.of('down').HANG ?? 0).toBe(0);
      // Uploads: answered clearly, and none left PROCESSING.
      for (const u of uploaded) expect(['OK', 'SERVICE_UNAVAILABLE']).toContain(u.outcome);
      expect(versions.filter((v) => v.status === 'PROCESSING')).toEqual([]);
      // Accounting: every accepted job final, exactly one usage record per success, none otherwise.
      expectBooksBalance(acc);
      // The premise of the Redis case: the restart lost queued jobs, and the sweeper put them back.
      if (premise.queueLost) expect(outcomes['sweeper:requeued']).toBeGreaterThan(0);
      // Subscribers: every followed job's stream ended with the state the database holds.
      expect(ended.filter((e) => e !== 'complete')).toEqual([]);
      expect(final.map((f) => f.seen.at(-1))).toEqual(final.map((f) => acc!.statuses.get(f.id)));
      expect(afterJobs.length).toBeGreaterThan(0);
      expect(streamedFinal()).toEqual(afterJobs);
    } finally {
      await load.stop();
      await readiness.stop();
      for (const f of followers) f.close();
      events.close();
      await client.dispose();
    }
  }

  it('Redis restart (no persistence: queued jobs lost) during predictions, jobs, subscriptions and uploads', async () => {
    await faultUnderLoad(
      'redis restart under load',
      {
        stop: () => cluster.redis.stop(),
        start: () => cluster.redis.start(),
      },
      { queueLost: true },
    );
  }, 110_000);

  it('PostgreSQL restart during predictions, jobs, subscriptions and uploads', async () => {
    await faultUnderLoad('postgres restart under load', {
      stop: () => cluster.pg.stop('fast'),
      start: () => cluster.pg.start(),
    });
  }, 110_000);
});
