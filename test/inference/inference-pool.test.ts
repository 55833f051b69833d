// Real ONNX files through the real worker pool: dtypes, symbolic dims, several inputs and
// outputs, dynamic batching, a throwing model, a killed worker, the queue bound, devices.
import { AppError } from '../../src/shared/errors.js';
import type { InferencePool, PoolVersion } from '../../src/inference/inference-pool.js';
import { parseDevices } from '../../src/inference/inference-devices.js';
import { encodeOutput, type TensorInputLike } from '../../src/inference/tensor-codec.js';
import { validateAndDecodeInputs } from '../../src/inference/tensor-validation.js';
import { poolVersion, startTestPool } from './pool-fixtures.js';

const LIMITS = { maxRequestBytes: 64 * 2 ** 20 };

async function predictJson(pool: InferencePool, version: PoolVersion, inputs: TensorInputLike[]) {
  const { tensors } = validateAndDecodeInputs(inputs, version.inputs, LIMITS);
  const result = await pool.run(version, tensors);
  return { ...result, json: result.outputs.map((o) => encodeOutput(o, 'JSON')) };
}

const rowsOf = (n: number, width: number, seed: number) =>
  Array.from({ length: n * width }, (_, i) => Math.round(Math.sin(seed * 31 + i) * 1000) / 100);

async function expectAppError(promise: Promise<unknown>, code: string, details: Record<string, unknown> = {}) {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AppError);
  expect((err as AppError).code).toBe(code);
  expect((err as AppError).details).toMatchObject(details);
  return err as AppError;
}

describe('one worker, batching on', () => {
  let pool: InferencePool;
  beforeAll(async () => {
    pool = await startTestPool();
  });
  afterAll(async () => pool?.close());

  it('runs the elementwise model and reports the device', async () => {
    const v = await poolVersion('elementwise');
    const r = await predictJson(pool, v, [
      { name: 'x', dtype: 'float32', shape: [2, 4], data: [-3, -1, 0, 1, 2, 3, 0.5, -0.5] },
    ]);
    expect(r.device).toBe('cpu');
    expect(r.json).toEqual([{ name: 'y', dtype: 'float32', shape: [2, 4], data: [0, 0, 1, 3, 5, 7, 2, 0], b64: null }]);
  });

  it('round-trips every dtype through one model with a shared symbolic dim', async () => {
    const v = await poolVersion('all-dtypes');
    const inputs: TensorInputLike[] = [
      { name: 'float32', dtype: 'float32', shape: [3], data: [1.5, 'NaN', '-Infinity'] },
      { name: 'float64', dtype: 'float64', shape: [3], data: [0.1, 1e300, 'Infinity'] },
      { name: 'int32', dtype: 'int32', shape: [3], data: [-2147483648, 0, 2147483647] },
      { name: 'int64', dtype: 'int64', shape: [3], data: ['-9223372036854775808', 42, '9223372036854775807'] },
      { name: 'uint8', dtype: 'uint8', shape: [3], data: [0, 128, 255] },
      { name: 'int8', dtype: 'int8', shape: [3], data: [-128, 0, 127] },
      { name: 'bool', dtype: 'bool', shape: [3], data: [true, false, true] },
      { name: 'string', dtype: 'string', shape: [3], data: ['a', '', 'héllo'] },
    ];
    const r = await predictJson(pool, v, inputs);
    const byName = Object.fromEntries(r.json.map((o) => [o.name, o.data]));
    expect(byName).toEqual({
      float32_out: [1.5, 'NaN', '-Infinity'],
      float64_out: [0.1, 1e300, 'Infinity'],
      int32_out: [-2147483648, 0, 2147483647],
      int64_out: ['-9223372036854775808', '42', '9223372036854775807'],
      uint8_out: [0, 128, 255],
      int8_out: [-128, 0, 127],
      bool_out: [true, false, true],
      string_out: ['a', '', 'héllo'],
    });
  });

  it('takes b64 inputs and gives b64 outputs, byte for byte', async () => {
    const v = await poolVersion('elementwise');
    const x = new Float32Array([1, 2, 3, 4]);
    const { tensors } = validateAndDecodeInputs(
      [{ name: 'x', dtype: 'float32', shape: [1, 4], b64: Buffer.from(x.buffer).toString('base64') }],
      v.inputs,
      LIMITS,
    );
    const r = await pool.run(v, tensors);
    const out = encodeOutput(r.outputs[0], 'B64');
    expect(out.data).toBeNull();
    const y = new Float32Array(new Uint8Array(Buffer.from(out.b64!, 'base64')).buffer);
    expect([...y]).toEqual([3, 5, 7, 9]);
  });

  it('feeds a model with two inputs of different dtypes and reads both outputs', async () => {
    const v = await poolVersion('two-inputs');
    const r = await predictJson(pool, v, [
      { name: 'x', dtype: 'float32', shape: [2, 3], data: [1, 2, 3, 4, 5, 6] },
      { name: 'k', dtype: 'int64', shape: [2, 3], data: [1, '2', 3, 0, -1, 10] },
    ]);
    expect(r.json.map((o) => [o.name, o.shape, o.data])).toEqual([
      ['y', [2, 3], [1, 4, 9, 0, -5, 60]],
      ['s', [2], ['6', '9']],
    ]);
  });

  it('reports a model that fails inside onnxruntime clearly, and the worker stays healthy', async () => {
    const v = await poolVersion('throws');
    const err = await expectAppError(
      predictJson(pool, v, [{ name: 'x', dtype: 'float32', shape: [5], data: [1, 2, 3, 4, 5] }]),
      'BAD_USER_INPUT',
      { reason: 'MODEL_ERROR', retryable: false },
    );
    expect(err.message).toMatch(/^the model failed on these inputs: .*reshape/i);
    expect(err.message).not.toMatch(/onnxruntime_src/);
    const ok = await predictJson(pool, v, [{ name: 'x', dtype: 'float32', shape: [6], data: [1, 2, 3, 4, 5, 6] }]);
    expect(ok.json[0]).toMatchObject({ shape: [2, 3], data: [1, 2, 3, 4, 5, 6] });
    expect(pool.health()).toMatchObject({ ready: 1, restarts: 0 });
  });

  it('warms a version up without failing on a model whose synthetic input does not fit', async () => {
    expect(await pool.warm(await poolVersion('mlp-small'))).toEqual({ warmupError: undefined });
    const w = await pool.warm(await poolVersion('throws', { id: 'throws-warm' }));
    expect(w.warmupError).toMatch(/reshape/i);
    const [stats] = await pool.stats();
    expect(stats.sessions).toEqual(expect.arrayContaining(['mlp-small-v1', 'throws-warm']));
  });

  it('does not build a warm-up input larger than any request may be (a hostile declared shape)', async () => {
    const capped = await startTestPool({ maxRequestBytes: 1 << 20 });
    try {
      // A fixed [16384, 16384] float32 input: 1 GiB per worker, were the warm-up to build it.
      const hostile = await poolVersion('mlp-small', {
        id: 'hostile-shape',
        inputs: [{ name: 'input', dtype: 'float32', shape: ['16384', '16384'] }],
      });
      const w = await capped.warm(hostile);
      expect(w.warmupError).toMatch(/warm-up skipped: the declared inputs need 1073741824 bytes/);
      const [stats] = await capped.stats();
      expect(stats.sessions).toContain('hostile-shape');
      expect(await capped.warm(await poolVersion('mlp-small'))).toEqual({ warmupError: undefined });
    } finally {
      await capped.close();
    }
  });
});

describe('dynamic batching', () => {
  it('gives each request, under concurrency, exactly what it gets when run alone', async () => {
    const batched = await startTestPool({ batching: { enabled: true, maxBatchSize: 16, maxQueueDelayMs: 25 } });
    const alone = await startTestPool({ batching: { enabled: false, maxBatchSize: 1, maxQueueDelayMs: 0 } });
    try {
      for (const name of ['mlp-small', 'two-inputs'] as const) {
        const v = await poolVersion(name);
        const requests = Array.from({ length: 24 }, (_, i): TensorInputLike[] => {
          const rows = 1 + (i % 3);
          return name === 'mlp-small'
            ? [{ name: 'input', dtype: 'float32', shape: [rows, 16], data: rowsOf(rows, 16, i) }]
            : [
                { name: 'x', dtype: 'float32', shape: [rows, 3], data: rowsOf(rows, 3, i) },
                {
                  name: 'k',
                  dtype: 'int64',
                  shape: [rows, 3],
                  data: Array.from({ length: rows * 3 }, (_, j) => (i * j) % 7),
                },
              ];
        });
        const together = await Promise.all(requests.map((inputs) => predictJson(batched, v, inputs)));
        const separately = [];
        for (const inputs of requests) separately.push(await predictJson(alone, v, inputs));
        expect(together.map((r) => r.json)).toEqual(separately.map((r) => r.json));
        expect(Math.max(...together.map((r) => r.batchSize))).toBeGreaterThan(1);
        expect(separately.every((r) => r.batchSize === 1)).toBe(true);
      }
    } finally {
      await Promise.all([batched.close(), alone.close()]);
    }
  });

  it('runs a version without a shared batch dim one request at a time', async () => {
    const pool = await startTestPool({ batching: { enabled: true, maxBatchSize: 16, maxQueueDelayMs: 25 } });
    try {
      const v = await poolVersion('throws');
      const runs = await Promise.all(
        [6, 6, 6].map(() =>
          predictJson(pool, v, [{ name: 'x', dtype: 'float32', shape: [6], data: [1, 2, 3, 4, 5, 6] }]),
        ),
      );
      // throws.onnx's output is a fixed [2, 3]: nothing to split along, so each runs alone.
      expect(runs.map((r) => r.batchSize)).toEqual([1, 1, 1]);
    } finally {
      await pool.close();
    }
  });
});

describe('faults and limits', () => {
  it('fails in-flight requests of a recycled worker at once (retryable) and replaces the worker', async () => {
    const pool = await startTestPool();
    try {
      const v = await poolVersion('mlp-1024');
      await pool.warm(v);
      const rows = 256;
      const inputs: TensorInputLike[] = [
        { name: 'input', dtype: 'float32', shape: [rows, 1024], data: new Array(rows * 1024).fill(0.5) },
      ];
      const running = predictJson(pool, v, inputs);
      pool.retireWorker(0);
      await expectAppError(running, 'SERVICE_UNAVAILABLE', { reason: 'WORKER_DIED', retryable: true });
      // The replacement starts on its own; the next request waits for it in the queue.
      const after = await predictJson(pool, await poolVersion('elementwise'), [
        { name: 'x', dtype: 'float32', shape: [1, 4], data: [1, 1, 1, 1] },
      ]);
      expect(after.json[0].data).toEqual([3, 3, 3, 3]);
      expect(pool.health()).toMatchObject({ ready: 1, size: 1, restarts: 1 });
    } finally {
      await pool.close();
    }
  });

  it('replaces a worker that runs out of heap; its request fails with MEMORY_LIMIT, the next one runs', async () => {
    const pool = await startTestPool({ workerMaxHeapMb: 64 });
    try {
      const v = await poolVersion('all-dtypes');
      // String tensors live on the worker's V8 heap: 96 strings of 1 MiB do not fit in 64 MB.
      const n = 96;
      const big = 'x'.repeat(2 ** 20);
      const inputs = v.inputs.map((s): TensorInputLike => {
        const data =
          s.dtype === 'string'
            ? Array.from({ length: n }, (_, i) => `${big}${i}`)
            : new Array(n).fill(s.dtype === 'bool' ? true : 1);
        return { name: s.name, dtype: s.dtype, shape: [n], data };
      });
      const { tensors } = validateAndDecodeInputs(inputs, v.inputs, { maxRequestBytes: 2 ** 30 });
      // The same request would exhaust a fresh worker too: final, not retryable.
      const err = await expectAppError(pool.run(v, tensors), 'BAD_USER_INPUT', {
        reason: 'MEMORY_LIMIT',
        retryable: false,
      });
      expect(err.message).toMatch(/heap out of memory/);
      const after = await predictJson(pool, await poolVersion('elementwise'), [
        { name: 'x', dtype: 'float32', shape: [1, 4], data: [0, 0, 0, 0] },
      ]);
      expect(after.json[0].data).toEqual([1, 1, 1, 1]);
      expect(pool.health()).toMatchObject({ ready: 1, restarts: 1 });
    } finally {
      await pool.close();
    }
  });

  it('times out a request that waits too long, as retryable, without disturbing the one running', async () => {
    const pool = await startTestPool({ batching: { enabled: false, maxBatchSize: 1, maxQueueDelayMs: 0 } });
    try {
      const v = await poolVersion('mlp-1024');
      const rows = 256;
      const input = (): TensorInputLike[] => [
        { name: 'input', dtype: 'float32', shape: [rows, 1024], data: new Array(rows * 1024).fill(0.5) },
      ];
      const running = predictJson(pool, v, input());
      // Queued behind a 256-row MLP-1024 run on the only worker: 1 ms is not enough.
      const { tensors } = validateAndDecodeInputs(input(), v.inputs, LIMITS);
      await expectAppError(pool.run(v, tensors, { timeoutMs: 1 }), 'SERVICE_UNAVAILABLE', {
        reason: 'TIMEOUT',
        retryable: true,
      });
      expect((await running).json[0].shape).toEqual([rows, 16]);
      expect(pool.health()).toMatchObject({ ready: 1, restarts: 0, queued: 0 });
    } finally {
      await pool.close();
    }
  });

  it('closes with a native run in flight without taking the process down', async () => {
    // Terminating a thread inside session.run aborts the process (see README): close() must
    // fail the caller at once and let the run return before the thread goes.
    const pool = await startTestPool();
    const v = await poolVersion('mlp-1024');
    await pool.warm(v);
    const rows = 256;
    const running = predictJson(pool, v, [
      { name: 'input', dtype: 'float32', shape: [rows, 1024], data: new Array(rows * 1024).fill(0.5) },
    ]).then(
      () => 'ran',
      (e: unknown) => e,
    );
    await pool.close();
    expect(await running).toMatchObject({ code: 'SERVICE_UNAVAILABLE', details: { reason: 'SHUTTING_DOWN' } });
    expect(pool.health()).toMatchObject({ ready: 0 });
  });

  it('refuses requests beyond the per-version queue bound with OVERLOADED', async () => {
    const pool = await startTestPool({
      maxQueuePerVersion: 2,
      batching: { enabled: false, maxBatchSize: 1, maxQueueDelayMs: 0 },
    });
    try {
      const v = await poolVersion('elementwise');
      const one = () => predictJson(pool, v, [{ name: 'x', dtype: 'float32', shape: [1, 4], data: [0, 0, 0, 0] }]);
      // The first goes straight to the idle worker; two more wait; the fourth finds the queue full.
      const accepted = [one(), one(), one()];
      await expectAppError(one(), 'SERVICE_UNAVAILABLE', { reason: 'OVERLOADED', retryable: true });
      expect((await Promise.all(accepted)).length).toBe(3);
    } finally {
      await pool.close();
    }
  });

  it('fails queued and new requests with SHUTTING_DOWN when closed', async () => {
    const pool = await startTestPool({ batching: { enabled: false, maxBatchSize: 1, maxQueueDelayMs: 0 } });
    const v = await poolVersion('elementwise');
    const x = () =>
      validateAndDecodeInputs([{ name: 'x', dtype: 'float32', shape: [1, 4], data: [0, 0, 0, 0] }], v.inputs, LIMITS)
        .tensors;
    // Both are accepted before close (one running, one queued); their outcomes are collected now
    // so that the rejections are handled when close() delivers them.
    const outcomes = [pool.run(v, x()), pool.run(v, x())].map((p) =>
      p.then(
        () => 'ran',
        (e: unknown) => e,
      ),
    );
    await pool.close();
    for (const outcome of await Promise.all(outcomes)) {
      expect(outcome).toBeInstanceOf(AppError);
      expect(outcome).toMatchObject({ code: 'SERVICE_UNAVAILABLE', details: { reason: 'SHUTTING_DOWN' } });
    }
    await expectAppError(pool.run(v, x()), 'SERVICE_UNAVAILABLE', { reason: 'SHUTTING_DOWN' });
  });
});

describe('devices', () => {
  it('refuses to start on a provider that is not there, saying which', async () => {
    await expect(startTestPool({ devices: parseDevices('cuda:0') })).rejects.toThrow(
      /inference worker 0: cuda:0 could not start/,
    );
  });

  it('falls back to cpu when configured to, and reports cpu as the device', async () => {
    const pool = await startTestPool({ devices: parseDevices('cuda:0'), deviceFallback: true });
    try {
      const r = await predictJson(pool, await poolVersion('elementwise'), [
        { name: 'x', dtype: 'float32', shape: [1, 4], data: [0, 0, 0, 0] },
      ]);
      expect(r.device).toBe('cpu');
    } finally {
      await pool.close();
    }
  });
});
