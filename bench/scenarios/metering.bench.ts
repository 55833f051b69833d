import '../support/bench-env.js';
import { MeteringService } from '../../src/billing/metering.service.js';
import { PredictionStatus } from '../../src/entities/enums.js';
import { Prediction } from '../../src/entities/prediction.entity.js';
import { BillingFixtures } from '../../test/billing/billing-fixtures.js';
import { startTestServer } from '../../test/support/test-server.js';
import type { BenchScenario } from '../harness.js';
import { percentile, round } from '../harness.js';

/**
 * What metering adds to a prediction's final transaction. Both arms run the same transaction —
 * load the prediction, set SUCCEEDED, commit — and one of them also calls `meter` (counter upsert
 * + usage record in one statement, the price snapshot flushed with the status). Arms alternate
 * one by one so drift in the machine hits both alike; the baseline is measured in the same run.
 * A second part runs predictions of ONE consumer and model concurrently: they all queue on that
 * consumer's counter row (the price of exact free-tier accounting), so it reports the throughput.
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

      const finish = async (id: string, meter: boolean) => {
        const started = performance.now();
        await fx.em().transactional(async (em) => {
          const p = await em.findOneOrFail(Prediction, id);
          p.status = PredictionStatus.SUCCEEDED;
          p.completedAt = new Date();
          if (meter) await metering.meter(em, p);
        });
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
      const latencies = await Promise.all(batch.map((id) => finish(id, true)));
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
          'SUCCEEDED tx without meter p50 / p99 ms': `${p(without, 50)} / ${p(without, 99)}`,
          'SUCCEEDED tx with meter p50 / p99 ms': `${p(withMeter, 50)} / ${p(withMeter, 99)}`,
          'added by metering p50 ms': addedP50,
          'added by metering p99 ms': addedP99,
          'p50 ratio with / without meter': ratio,
          'one consumer, concurrent: meterings/s': round(concurrent / elapsed, 1),
          'one consumer, concurrent: p50 / p99 ms': `${p(latencies, 50)} / ${p(latencies, 99)}`,
          'usage records written (expected)': `${check?.n} (${perArm + concurrent})`,
        },
        targets: [
          {
            // One statement (the counter + record CTE) on top of BEGIN, SELECT, UPDATE, COMMIT.
            name: 'SUCCEEDED transaction p50 with meter / without',
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
          'Sequential arms on one connection pool; both arms include BEGIN/COMMIT and the status UPDATE.',
          'The concurrent part serialises on the consumer’s (user, model, month) counter row by design.',
        ],
      };
    } finally {
      await server.close();
    }
  },
};
