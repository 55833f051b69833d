import '../support/bench-env.js';
import { MeteringService } from '../../src/billing/metering.service.js';
import { randomUUID } from 'node:crypto';
import type { CompletedCost, CompletedRun, RecordedCost, SucceededRun } from '../../src/billing/metering.types.js';
import { PredictionStatus } from '../../src/entities/enums.js';
import { Prediction } from '../../src/entities/prediction.entity.js';
import { PredictionRecorder } from '../../src/predictions/prediction-recorder.js';
import { BillingFixtures } from '../../test/billing/billing-fixtures.js';
import { startTestServer } from '../../test/support/test-server.js';
import type { BenchScenario } from '../harness.js';
import { latency, percentile, round } from '../harness.js';

/**
 * What completing a queued prediction costs with its billing, against completing it without any.
 * Baseline arm: the plain way to finish a job with no billing — load the row, set SUCCEEDED,
 * commit (one ORM transaction). Ours: the worker's statement, `completeSucceeded` (the update plus
 * the counter upsert, the usage record and the model's counter, one prepared statement;
 * complete-succeeded.sql.ts), for one prediction. A third arm, the bare RUNNING → SUCCEEDED
 * UPDATE alone, is reported as the floor of one round trip and commit. Arms alternate one by one
 * so drift in the machine hits them alike; all are measured in the same run.
 * A second part completes predictions of ONE consumer and model concurrently through the
 * worker's group commit (PredictionRecorder): without it they would all queue on that consumer's
 * counter row (the price of exact free-tier accounting), so it reports the throughput. A third
 * records synchronous predictions of one consumer WITH a spending cap the same way: the cap is
 * admitted in the group's statement under that consumer's month row, one lock per group.
 */
export const scenario: BenchScenario = {
  name: 'metering',
  title: 'Metering: latency added to the SUCCEEDED transaction (p50/p99), and one consumer under concurrency',
  async run({ log, quick }) {
    const perArm = quick ? 200 : 2000;
    const concurrent = quick ? 200 : 1000;
    // No job worker: its sweeper would re-enqueue the RUNNING rows made here once they are 30 s
    // old (a slow run), fail them for want of inputs, and leave them out of the metering.
    const server = await startTestServer({ RUN_JOBS: 'false' });
    try {
      const fx = new BillingFixtures(server.app);
      const metering = new MeteringService({ blockOverdue: true });
      const consumer = await fx.consumer();
      const { model, version } = await fx.pricedModel(await fx.publisher(), {
        pricePerRequest: '0.0015',
        freeRequestsPerMonth: 100,
      });
      log(`creating ${perArm * 3 + concurrent} RUNNING predictions`);
      const ids: string[] = [];
      for (let i = 0; i < perArm * 3 + concurrent; i++)
        ids.push((await fx.runningPrediction(consumer, model, version)).id);

      const run = (id: string): CompletedRun => ({
        id,
        outputs: null,
        device: 'cpu',
        batchSize: 1,
        completedAt: new Date(),
        inferenceTimeMs: 1,
      });
      type Arm = 'orm' | 'bare' | 'metered';
      const finish = async (id: string, arm: Arm) => {
        const started = performance.now();
        if (arm === 'metered') await metering.completeSucceeded(fx.em(), [run(id)]);
        else if (arm === 'orm')
          await fx.em().transactional(async (em) => {
            const p = await em.findOneOrFail(Prediction, id);
            p.status = PredictionStatus.SUCCEEDED;
            p.completedAt = new Date();
          });
        else
          await fx
            .em()
            .getConnection()
            .execute(
              `update predictions set status = ?, completed_at = now(), updated_at = now() where id = ? and status = ?`,
              [PredictionStatus.SUCCEEDED, id, PredictionStatus.RUNNING],
            );
        return performance.now() - started;
      };
      const recorder = new PredictionRecorder<CompletedRun, CompletedCost>((em, runs) =>
        metering.completeSucceeded(em, runs),
      );
      const grouped = async (id: string) => {
        const started = performance.now();
        await recorder.record(fx.em(), run(id));
        return performance.now() - started;
      };

      // Warm-up: connections, statement plans, JIT.
      const arms: Arm[] = ['orm', 'bare', 'metered'];
      for (let i = 0; i < 21; i++) await finish(ids[i], arms[i % 3]);
      const samples: Record<Arm, number[]> = { orm: [], bare: [], metered: [] };
      log(`${perArm} completions per arm, alternating`);
      for (let i = 21; i < perArm * 3; i++) samples[arms[i % 3]].push(await finish(ids[i], arms[i % 3]));

      log(`${concurrent} concurrent meterings by one consumer on one model`);
      const batch = ids.slice(perArm * 3);
      const started = performance.now();
      const latencies = await Promise.all(batch.map((id) => grouped(id)));
      const elapsed = (performance.now() - started) / 1000;
      const [check] = await fx
        .em()
        .execute<{ n: string }[]>('select count(*) as n from usage_records where user_id = ?', [consumer.id]);

      log(`${concurrent} concurrent synchronous recordings by one capped consumer`);
      const capped = await fx.consumer();
      await fx.setSpendCap(capped, '1000000');
      const pricing = await metering.accept(fx.em(), capped.id, model.id);
      const sync = new PredictionRecorder<SucceededRun, RecordedCost>((em, runs) => metering.recordSucceeded(em, runs));
      const syncStarted = performance.now();
      const syncLatencies = await Promise.all(
        Array.from({ length: concurrent }, async () => {
          const t = performance.now();
          const now = new Date();
          await sync.record(fx.em(), {
            id: randomUUID(),
            userId: capped.id,
            apiKeyId: null,
            modelId: model.id,
            versionId: version.id,
            device: 'cpu',
            batchSize: 1,
            startedAt: now,
            completedAt: now,
            queueTimeMs: 0,
            inferenceTimeMs: 1,
            pricing,
          });
          return performance.now() - t;
        }),
      );
      const syncElapsed = (performance.now() - syncStarted) / 1000;

      const p = (xs: number[], q: number) => round(percentile(xs, q), 3);
      const { orm: without, bare, metered: withMeter } = samples;
      const ratio = round(p(withMeter, 50) / p(without, 50), 3);
      return {
        metrics: {
          ...latency(
            'baseline: ORM transaction, no billing (load, set SUCCEEDED, commit)',
            p(without, 50),
            p(without, 99),
            'ms',
          ),
          ...latency('ours: completeSucceeded, billed (one statement)', p(withMeter, 50), p(withMeter, 99), 'ms'),
          ...latency('floor: bare UPDATE, no billing', p(bare, 50), p(bare, 99), 'ms'),
          'billing added over the bare UPDATE p50 ms': round(p(withMeter, 50) - p(bare, 50), 3),
          'p50 ratio ours / baseline': ratio,
          'one consumer, concurrent, group commit: completions/s': round(concurrent / elapsed, 1),
          ...latency('one consumer, concurrent:', p(latencies, 50), p(latencies, 99), 'ms'),
          'one capped consumer, concurrent sync recordings (cap admitted per group): recordings/s': round(
            concurrent / syncElapsed,
            1,
          ),
          ...latency(
            'one capped consumer, concurrent sync recordings:',
            p(syncLatencies, 50),
            p(syncLatencies, 99),
            'ms',
          ),
          'usage records written': Number(check?.n ?? 0),
          'usage records expected': perArm + concurrent,
        },
        targets: [
          {
            // Completing and billing in one statement vs completing without billing the plain way.
            name: 'job completion p50, billed (ours) / unbilled ORM transaction',
            value: ratio,
            target: '<= 1.5',
            pass: ratio <= 1.5,
          },
          {
            name: 'every metered prediction has exactly one record',
            value: Number(check?.n),
            target: `= ${perArm + concurrent}`,
            pass: Number(check?.n) === perArm + concurrent,
          },
        ],
        notes: [
          'Sequential arms on one connection pool, alternating; every arm commits once (one prediction each).',
          'The concurrent part shares statements (group commit): one per group, not one per prediction queued on the consumer’s counter row.',
        ],
      };
    } finally {
      await server.close();
    }
  },
};
