import '../support/bench-env.js';
import { join } from 'node:path';
import { print } from 'graphql';
import * as ort from 'onnxruntime-node';
import { Role } from '../../src/entities/enums.js';
import { TEST_MODELS, TEST_MODELS_DIR } from '../../src/inference/test-models.js';
import { validateAndDecodeInputs } from '../../src/inference/tensor-validation.js';
import { PredictDocument } from '../../test/generated/graphql.js';
import { authHeaders } from '../../test/support/auth.js';
import { Factory } from '../../test/support/factories.js';
import { startTestServer } from '../../test/support/test-server.js';
import { storedVersion } from '../../test/predictions/prediction-fixtures.js';
import type { BenchScenario } from '../harness.js';
import { latency, percentile, round } from '../harness.js';
import { decodingPredict, startBareApollo } from '../support/bare-apollo.js';
import { timeRequests } from '../support/load.js';
import { startThreadHop } from '../support/thread-hop.js';

/**
 * What `predict` adds on top of onnxruntime: one client, sequential requests, mlp-small with one
 * row of 16 floats. Four layers, same model and input, in the same run:
 * - direct: `session.run` in this process (the floor);
 * - thread hop: validation + a worker thread running the session, tensors transferred with
 *   postMessage (the transport of the thread engine the pool used before its sandboxes);
 * - engine: validation + the worker pool (`app.inference.run`: a frame over the pipe to a worker
 *   process and back, plus the pool's queueing and batching);
 * - predict: POST /graphql end to end (HTTP, auth, GraphQL, version lookup, quota check, the
 *   pool, and the transaction that records and meters the prediction).
 * Targets: predict p50 − direct p50 <= 1 ms; engine p50 − thread hop p50 <= 0.3 ms (the process
 * hop, with the pool's own scheduling counted against it too).
 */
export const scenario: BenchScenario = {
  name: 'predict-overhead',
  title: 'predict over HTTP vs direct session.run (mlp-small, 1 row): p50/p99 overhead',
  async run(ctx) {
    const { quick } = ctx;
    const log = (message: string) => ctx.log(message);
    const n = quick ? 300 : 3000;
    const warmup = quick ? 50 : 300;
    const server = await startTestServer({
      RATE_LIMIT_ENABLED: 'false',
      INFERENCE_START: 'eager',
      INFERENCE_WORKERS: '1',
    });
    try {
      const f = new Factory(server.app);
      const consumer = await f.user();
      const model = await f.model(await f.user({ role: Role.PUBLISHER }), { pricePerRequest: '0.001' });
      const version = await storedVersion(server.app, model, 'mlp-small');
      const row = Array.from({ length: 16 }, (_, i) => Math.sin(i));
      const input = { name: 'input', dtype: 'float32', shape: [1, 16], data: row };

      // direct: the same file and session options as a worker uses.
      const path = join(TEST_MODELS_DIR, TEST_MODELS['mlp-small'].fileName);
      const session = await ort.InferenceSession.create(path, {
        intraOpNumThreads: 1,
        interOpNumThreads: 1,
        executionMode: 'sequential',
        graphOptimizationLevel: 'all',
      });
      const direct = await timeEach(n, warmup, async () => {
        await session.run({ input: new ort.Tensor('float32', Float32Array.from(row), [1, 16]) });
      });
      await session.release();
      log(`direct session.run p50 ${round(percentile(direct, 50))} ms`);

      const hop = await startThreadHop(path, 'input', 'logits');
      let threadHop: number[];
      try {
        threadHop = await timeEach(n, warmup, async () => {
          const { tensors } = validateAndDecodeInputs([input], version.inputs, { maxRequestBytes: 1 << 20 });
          await hop.run(tensors[0].data as ArrayBuffer, tensors[0].dims);
        });
      } finally {
        await hop.close();
      }
      log(`thread hop (validate + worker thread) p50 ${round(percentile(threadHop, 50))} ms`);

      const poolVersion = {
        id: version.id,
        path: await server.app.storage.localPath(version.storageKey),
        sizeBytes: version.sizeBytes,
        inputs: version.inputs,
        outputs: version.outputs,
      };
      const engine = await timeEach(n, warmup, async () => {
        const { tensors } = validateAndDecodeInputs([input], version.inputs, { maxRequestBytes: 1 << 20 });
        await server.app.inference.run(poolVersion, tensors);
      });
      log(`engine (validate + pool) p50 ${round(percentile(engine, 50))} ms`);

      const headers = { 'content-type': 'application/json', ...(await authHeaders(server.app, consumer)) };
      const body = JSON.stringify({ query: print(PredictDocument), variables: { modelId: model.id, inputs: [input] } });
      // Where a predict's time goes inside the server: its own stages timed as they run (the
      // service call, and within it the acceptance read, the pool run and the recording commit).
      const spans = timeSpans([
        ['service.predict', server.app.services.predictions, 'predict'],
        ['metering.accept (alongside the run)', server.app.services.billing.metering, 'accept'],
        ['inference.run', server.app.inference, 'run'],
        ['metering.recordSucceeded (commit)', server.app.services.billing.metering, 'recordSucceeded'],
      ]);
      const predict = await timeRequests({ url: `${server.origin}/graphql`, headers, body, n, warmup });
      const stages = spans.stop(n);
      log(`predict over HTTP p50 ${round(percentile(predict, 50))} ms`);

      // The floor HTTP and GraphQL alone set: a bare Apollo Server answering the same request
      // (decoding its inputs, returning a captured response) to the same client.
      const answer = (
        (await (await fetch(`${server.origin}/graphql`, { method: 'POST', headers, body })).json()) as {
          data: { predict: unknown };
        }
      ).data.predict;
      const bare = await startBareApollo(decodingPredict(answer));
      let transport: number[];
      try {
        transport = await timeRequests({ url: bare.url, headers, body, n, warmup });
      } finally {
        await bare.close();
      }
      log(`bare Apollo, same request p50 ${round(percentile(transport, 50))} ms`);

      const p = (s: number[], q: number) => round(percentile(s, q));
      const overheadP50 = round(p(predict, 50) - p(direct, 50));
      const processHopP50 = round(p(engine, 50) - p(threadHop, 50));
      // What predict adds beyond the transport floor and onnxruntime: our own work.
      const ownP50 = round(p(predict, 50) - p(transport, 50) - p(direct, 50));
      return {
        metrics: {
          requests: n,
          ...latency('direct session.run', p(direct, 50), p(direct, 99), 'ms'),
          ...latency('thread hop (validate + worker thread)', p(threadHop, 50), p(threadHop, 99), 'ms'),
          ...latency('engine (validate + pool)', p(engine, 50), p(engine, 99), 'ms'),
          ...latency('engine over thread hop', processHopP50, round(p(engine, 99) - p(threadHop, 99)), 'ms'),
          ...latency('predict over HTTP', p(predict, 50), p(predict, 99), 'ms'),
          ...latency(
            'engine overhead',
            round(p(engine, 50) - p(direct, 50)),
            round(p(engine, 99) - p(direct, 99)),
            'ms',
          ),
          ...latency('predict overhead', overheadP50, round(p(predict, 99) - p(direct, 99)), 'ms'),
          ...latency('bare Apollo, same request and client', p(transport, 50), p(transport, 99), 'ms'),
          'predict minus bare Apollo minus session.run p50 ms': ownP50,
          ...Object.fromEntries(
            Object.entries(stages).flatMap(([label, xs]) =>
              Object.entries(latency(`span ${label}`, p(xs, 50), p(xs, 99))),
            ),
          ),
          'span outside service.predict (HTTP, GraphQL, context) p50 ms': round(
            p(predict, 50) - p(stages['service.predict'] ?? [0], 50),
          ),
        },
        targets: [
          {
            name: 'predict p50 overhead over session.run (ms)',
            value: overheadP50,
            target: '<= 1',
            pass: overheadP50 <= 1,
          },
          {
            name: 'process engine p50 over the thread hop (ms)',
            value: processHopP50,
            target: '<= 0.3',
            pass: processHopP50 <= 0.3,
          },
        ],
        notes: [
          'predict includes the HTTP round trip on loopback (one fetch client in a process of its own), JSON parsing, auth, the version lookup (cached), the quota query (alongside inference) and the recording statement (prediction, usage record, counters: one commit).',
          'The bare Apollo line is the floor that HTTP, Express and graphql-js set for this request and client before any of our work: the target is below it on this machine.',
        ],
      };
    } finally {
      await server.close();
    }
  },
};

async function timeEach(n: number, warmup: number, fn: () => Promise<void>): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await fn();
  const samples: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await fn();
    samples.push(performance.now() - t);
  }
  return samples;
}

/**
 * Wraps async methods to record how long each call takes, until `stop` puts them back and
 * returns the last `n` durations (ms) of each.
 */
function timeSpans(targets: [label: string, owner: object, method: string][]) {
  const samples: Record<string, number[]> = {};
  const restore: (() => void)[] = [];
  for (const [label, owner, method] of targets) {
    const o = owner as Record<string, (...a: unknown[]) => Promise<unknown>>;
    const original = o[method];
    samples[label] = [];
    o[method] = async function (this: unknown, ...args: unknown[]) {
      const t = performance.now();
      try {
        return await original.apply(this, args);
      } finally {
        samples[label].push(performance.now() - t);
      }
    };
    restore.push(() => (o[method] = original));
  }
  return {
    stop(n: number): Record<string, number[]> {
      for (const r of restore) r();
      return Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, v.slice(-n)]));
    },
  };
}
