// Process faults under load (issue 9), deployed as in production: two API replicas that run no
// jobs (RUN_JOBS=false) and two worker processes (src/worker.ts), on the suite's own PostgreSQL and
// Redis. A worker is SIGKILLed while it runs jobs (BullMQ hands them to the other worker once
// their locks lapse), then an API replica is SIGTERMed (it drains: in-flight requests finish,
// WebSockets close with 1001 and their clients reconnect to the other replica, where
// `predictionUpdated` starts again from the job's current state and runs to its end). Afterwards
// no accepted request or job is lost and none is billed twice (the database says so).
import { execFileSync } from 'node:child_process';
import pg from 'pg';
import { startApiProcess, startWorkerProcess, stopAll, type AppProcess } from '../support/app-processes.js';
import { expectBooksBalance, reportFaultRun, settleAndAccount, type Accounting } from './support/accounting.js';
import { startChaosCluster, type ChaosCluster } from './support/chaos-cluster.js';
import { followMyEvents, followPrediction, LoadDriver, reconnectingClient } from './support/load-driver.js';
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
if (!canRun) process.stdout.write('[process-faults] needs redis-server and PostgreSQL binaries: skipped\n');
const suite = canRun ? describe : describe.skip;

const FINAL = ['SUCCEEDED', 'FAILED', 'CANCELED'];
/** What a client may see while a process goes away: an answer, or a clear retryable error. */
const CLEAR = new Set(['OK', 'SERVICE_UNAVAILABLE']);

suite('process faults: SIGKILL a worker, SIGTERM an API replica, under load', () => {
  let cluster: ChaosCluster;
  let api1: AppProcess;
  let api2: AppProcess;
  let worker1: AppProcess;
  let worker2: AppProcess;

  beforeAll(async () => {
    cluster = await startChaosCluster();
    try {
      const apiEnv = cluster.env({ RUN_JOBS: 'false' });
      // Each job waits up to 400 ms in the worker's batcher: jobs are RUNNING when a fault hits.
      const workerEnv = cluster.env({ INFERENCE_MAX_QUEUE_DELAY_MS: '400' });
      [api1, api2, worker1, worker2] = await Promise.all([
        startApiProcess(apiEnv),
        startApiProcess(apiEnv),
        startWorkerProcess(workerEnv),
        startWorkerProcess(workerEnv),
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

  const alive = (p: AppProcess) => p.child.exitCode === null && p.child.signalCode === null;
  /** The replicas a load balancer still routes to. */
  const liveApis = () => [api1, api2].filter(alive).map((p) => p.origin);

  async function dbStatuses(ids: string[]): Promise<Map<string, string>> {
    const c = new pg.Client({ connectionString: cluster.databaseUrl });
    await c.connect();
    try {
      const rows = (
        await c.query<{ id: string; status: string }>('select id, status from predictions where id = any($1)', [ids])
      ).rows;
      return new Map(rows.map((r) => [r.id, r.status]));
    } finally {
      await c.end();
    }
  }

  async function runningJobs(): Promise<number> {
    const c = new pg.Client({ connectionString: cluster.databaseUrl });
    await c.connect();
    try {
      const { rows } = await c.query<{ n: string }>(`select count(*) as n from predictions where status = 'RUNNING'`);
      return Number(rows[0]?.n);
    } finally {
      await c.end();
    }
  }

  /**
   * Reports a fault and checks what clients saw and what the database holds. `resetIn`: the phase
   * in which a cut connection (RESET) is a clean retryable error, while a replica drains: a request
   * sent on a keep-alive connection just as the server closes it as idle is never read
   * (src/http/http-drainer.ts), and the client retries it elsewhere (createPrediction with the same
   * idempotency key). The accounting proves such a request did nothing: no SUCCEEDED sync row
   * without its answer, no job without its client.
   */
  function check(fault: string, load: LoadDriver, acc: Accounting, extra: Record<string, number>, resetIn?: string) {
    const outcomes = { ...load.flatOutcomes(), ...extra };
    reportFaultRun('process-faults', fault, { tried: load.total(), outcomes, load, acc });
    for (const phase of load.outcomes.keys()) {
      const unclear = Object.keys(load.phaseOutcomes(phase)).filter(
        (o) => !CLEAR.has(o) && !(o === 'RESET' && phase === resetIn),
      );
      expect({ phase, unclear, samples: unclear.map((o) => load.samples.get(o)) }).toEqual({
        phase,
        unclear: [],
        samples: [],
      });
    }
    expectBooksBalance(acc);
  }

  it('SIGKILL of a worker running jobs: the other worker finishes them, each billed once', async () => {
    const since = new Date();
    const load = new LoadDriver({ origins: liveApis, authorization: cluster.consumerAuth, modelId: cluster.modelId });
    const client = reconnectingClient(liveApis, cluster.consumerAuth);
    const events = followMyEvents(client);
    const followers: ReturnType<typeof followPrediction>[] = [];
    try {
      load.start({ sync: 2, async: 3, pauseMs: 100, retries: 2 });
      await sleep(1500);
      // Follow the newest jobs: some of them are on worker #1 when it dies.
      const inFlight = [...load.accepted].slice(-6);
      for (const id of inFlight) followers.push(followPrediction(client, id));
      load.phase = 'fault';
      const runningAtKill = await runningJobs();
      await worker1.kill();
      await sleep(4000); // past the 2 s lock: the stalled check hands its jobs to worker #2
      load.phase = 'after';
      await sleep(1500);
      await load.stop();

      const acc = await settleAndAccount(cluster.databaseUrl, load, since, 45_000);
      const ended = await Promise.all(followers.map((f) => within(f.done, 15_000, 'hung' as const)));
      check('SIGKILL worker under load', load, acc, {
        'jobs:runningAtKill': runningAtKill,
        ...Object.fromEntries(
          ['complete', 'error', 'hung'].map((k) => [`predictionUpdated:${k}`, ended.filter((e) => e === k).length]),
        ),
        'myPredictionEvents:received': events.statuses.size,
      });
      expect(worker1.child.signalCode).toBe('SIGKILL');
      expect(runningAtKill).toBeGreaterThan(0);
      expect([api1, api2, worker2].every(alive)).toBe(true);
      expect(ended.filter((e) => e !== 'complete')).toEqual([]);
      expect(followers.map((f) => f.seen.at(-1))).toEqual(followers.map((f) => acc.statuses.get(f.id)));
    } finally {
      await load.stop();
      for (const f of followers) f.close();
      events.close();
      await client.dispose();
    }
  }, 110_000);

  it('SIGTERM of an API replica: requests finish or fail cleanly, its subscribers resume on the other', async () => {
    const since = new Date();
    const load = new LoadDriver({ origins: liveApis, authorization: cluster.consumerAuth, modelId: cluster.modelId });
    // Subscribers on the replica that will stop (api2 first in its list), then wherever is left.
    const onApi2 = () => (alive(api2) ? [api2.origin, api1.origin] : [api1.origin]);
    const client = reconnectingClient(onApi2, cluster.consumerAuth);
    const events = followMyEvents(client);
    const followers: ReturnType<typeof followPrediction>[] = [];
    try {
      load.start({ sync: 2, async: 3, pauseMs: 100, retries: 2 });
      await sleep(1500);
      expect(client.connects).toBe(1);
      // Jobs that will still be QUEUED or RUNNING when api2 goes (each takes ≥ 400 ms on a worker).
      const fresh = await Promise.all([1, 2, 3, 4].map(() => load.createJob(2)));
      for (const id of fresh) if (id) followers.push(followPrediction(client, id));
      await sleep(100); // the subscriptions reach api2
      load.phase = 'fault';
      const before = await dbStatuses(fresh.filter((id): id is string => Boolean(id)));
      const stopping = api2.stop(15_000);
      const notFinalAtStop = [...before.values()].filter((s) => !FINAL.includes(s)).length;
      await stopping;
      load.phase = 'after';
      await sleep(2500);
      await load.stop();

      const acc = await settleAndAccount(cluster.databaseUrl, load, since, 45_000);
      const ended = await Promise.all(followers.map((f) => within(f.done, 15_000, 'hung' as const)));
      const afterJobs = [...load.acceptedIn].filter(([, phase]) => phase === 'after').map(([id]) => id);
      const streamedFinal = () => afterJobs.filter((id) => FINAL.includes(events.statuses.get(id)?.at(-1) ?? ''));
      await until(() => streamedFinal().length === afterJobs.length, 'myPredictionEvents on api1', 10_000).catch(
        () => undefined,
      );
      const api2Logs = api2.logs.map((l) => String(l.msg));
      check(
        'SIGTERM API replica under load',
        load,
        acc,
        {
          'api2:exitCode': Number(api2.child.exitCode),
          'api2:graceful': api2Logs.some((m) => m.includes('grace period over')) ? 0 : 1,
          'followed:notFinalAtStop': notFinalAtStop,
          ...Object.fromEntries(
            ['complete', 'error', 'hung'].map((k) => [`predictionUpdated:${k}`, ended.filter((e) => e === k).length]),
          ),
          'ws:connects': client.connects,
          'myPredictionEvents:after:final': streamedFinal().length,
          'myPredictionEvents:after:missing': afterJobs.length - streamedFinal().length,
        },
        'fault',
      );
      // A graceful stop: exit 0, in-flight requests drained within the grace period.
      expect(api2.child.exitCode).toBe(0);
      expect(api2Logs.filter((m) => m.includes('grace period over'))).toEqual([]);
      expect(alive(api1)).toBe(true);
      // The subscribers reconnected to api1 and each followed job's stream ran to its final state.
      expect(client.connects).toBeGreaterThanOrEqual(2);
      expect(notFinalAtStop).toBeGreaterThan(0);
      expect(ended.filter((e) => e !== 'complete')).toEqual([]);
      expect(followers.map((f) => f.seen.at(-1))).toEqual(followers.map((f) => acc.statuses.get(f.id)));
      expect(afterJobs.length).toBeGreaterThan(0);
      expect(streamedFinal()).toEqual(afterJobs);
    } finally {
      await load.stop();
      for (const f of followers) f.close();
      events.close();
      await client.dispose();
    }
  }, 110_000);
});
