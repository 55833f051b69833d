import '../support/bench-env.js';
import { MeteringService } from '../../src/billing/metering.service.js';
import type { CompletedCost, CompletedRun } from '../../src/billing/metering.types.js';
import { PredictionStatus } from '../../src/entities/enums.js';
import { PredictionRecorder } from '../../src/predictions/prediction-recorder.js';
import { BillingFixtures } from '../../test/billing/billing-fixtures.js';
import { startTestServer } from '../../test/support/test-server.js';
import type { BenchScenario } from '../harness.js';
import { percentile, round } from '../harness.js';

/**
 * What metering adds to the statement that completes a queued prediction. Baseline arm: the bare
 * RUNNING → SUCCEEDED update of the row (one statement, its own commit). Metered arm: the
 * worker's statement, `completeSucceeded` (the same update plus the counter upsert, the usage
 * record and the model's counter; complete-succeeded.sql.ts), for one prediction. Arms alternate
 * one by one so drift in the machine hits both alike; the baseline is measured in the same run.
 * A second part completes predictions of ONE consumer and model concurrently through the
 * worker's group commit (PredictionRecorder): without it they would all queue on that consumer's
 * counter row (the price of exact free-tier accounting), so it reports the throughput.
 */
export const scenario: BenchScenario = {
  name: 'metering',
  title: 'Metering: latency added to the SUCCEEDED transaction (p50/p99), and one consumer under concurrency',
  async run({ log, quick }) {
    const perArm = quick ? 200 : 2000;
    const concurrent = quick ? 200 : 1000;
    const server = await startTestServer();
    try {
      const fx = new BillingFixtures(server.app);
      const metering = new MeteringService({ blockOverdue: true });
      const consumer = await fx.consumer();
      const { model, version } = await fx.pricedModel(await fx.publisher(), {
        pricePerRequest: '0.0015',
        freeRequestsPerMonth: 100,
      });
      log(`creating ${perArm * 2 + concurrent} RUNNING predictions`);
      const ids: string[] = [];
      for (let i = 0; i < perArm * 2 + concurrent; i++)
        ids.push((await fx.runningPrediction(consumer, model, version)).id);

      const run = (id: string): CompletedRun => ({
        id,
        outputs: null,
        device: 'cpu',
        batchSize: 1,
        completedAt: new Date(),
        inferenceTimeMs: 1,
      });
      const finish = async (id: string, meter: boolean) => {
        const started = performance.now();
        if (meter) await metering.completeSucceeded(fx.em(), [run(id)]);
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
      for (let i = 0; i < 20; i++) await finish(ids[i], i % 2 === 0);
      const without: number[] = [];
      const withMeter: number[] = [];
      log(`${perArm} transactions per arm, alternating`);
      for (let i = 20; i < perArm * 2; i++) {
        if (i % 2 === 0) withMeter.push(await finish(ids[i], true));
        else without.push(await finish(ids[i], false));
      }

      log(`${concurrent} concurrent meterings by one consumer on one model`);
      const batch = ids.slice(perArm * 2);
      const started = performance.now();
      const latencies = await Promise.all(batch.map((id) => grouped(id)));
      const elapsed = (performance.now() - started) / 1000;
      const [check] = await fx
        .em()
        .execute<{ n: string }[]>('select count(*) as n from usage_records where user_id = ?', [consumer.id]);

      const p = (xs: number[], q: number) => round(percentile(xs, q), 3);
      const addedP50 = round(p(withMeter, 50) - p(without, 50), 3);
      const addedP99 = round(p(withMeter, 99) - p(without, 99), 3);
      const ratio = round(p(withMeter, 50) / p(without, 50), 3);
      return {
        metrics: {
          'SUCCEEDED update without metering p50 / p99 ms': `${p(without, 50)} / ${p(without, 99)}`,
          'SUCCEEDED update with metering (completeSucceeded) p50 / p99 ms': `${p(withMeter, 50)} / ${p(withMeter, 99)}`,
          'added by metering p50 ms': addedP50,
          'added by metering p99 ms': addedP99,
          'p50 ratio with / without meter': ratio,
          'one consumer, concurrent, group commit: completions/s': round(concurrent / elapsed, 1),
          'one consumer, concurrent: p50 / p99 ms': `${p(latencies, 50)} / ${p(latencies, 99)}`,
          'usage records written (expected)': `${check?.n} (${perArm + concurrent})`,
        },
        targets: [
          {
            // One statement either way; the metered one also writes the counter, record and model count.
            name: 'SUCCEEDED statement p50 with metering / without',
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
          'Sequential arms on one connection pool; each arm is one statement with its own commit.',
          'The concurrent part shares statements (group commit): one per group, not one per prediction queued on the consumer’s counter row.',
        ],
      };
    } finally {
      await server.close();
    }
  },
};
