import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runInThisContext } from 'node:vm';
import type { InferenceSession as Session, Tensor as TensorType } from 'onnxruntime-node';
import {
  ALL_DTYPES,
  type DenseLayer,
  ensureTestModel,
  MLP_1024_WIDTHS,
  MLP_SMALL_WIDTHS,
  mlpLayers,
  TEST_MODEL_NAMES,
  TEST_MODELS,
  type TestModelName,
} from './test-models.js';

// Jest runs each test file in its own V8 realm but loads onnxruntime's native addon in Node's
// main one, so output arrays are the main realm's Float32Array and onnxruntime-common (evaluated
// in the test realm) rejects them with "A float32 tensor's data must be type of Float32Array".
// Jest already shares ArrayBuffer and Uint8Array this way; share the other typed arrays before
// onnxruntime loads. (Plain Node has one realm: production code needs none of this.)
for (const name of [
  'Float32Array',
  'Float64Array',
  'Int8Array',
  'Int16Array',
  'Int32Array',
  'Uint16Array',
  'Uint32Array',
  'BigInt64Array',
  'BigUint64Array',
  'Uint8ClampedArray',
]) {
  Object.defineProperty(globalThis, name, { value: runInThisContext(name), writable: true, configurable: true });
}
const { InferenceSession, Tensor } = await import('onnxruntime-node');
type InferenceSession = Session;
type Tensor = TensorType;

const FIXTURES = fileURLToPath(new URL('../../test/fixtures/models/', import.meta.url));

// Fatal only: the throws model makes onnxruntime log its (expected) run error to stderr.
const QUIET: Session.SessionOptions = { logSeverityLevel: 4 };

async function session(name: TestModelName): Promise<InferenceSession> {
  return InferenceSession.create(TEST_MODELS[name].build(), QUIET);
}

/** Deterministic inputs with both signs, so Relu's cut-off is exercised. */
function sampleInput(count: number, salt: number): Float32Array {
  return Float32Array.from({ length: count }, (_, i) => Math.sin(i * 12.9898 + salt) * 2);
}

/** Plain-TypeScript forward pass (float64 accumulation) of a Gemm/Relu MLP. */
function mlpReference(layers: DenseLayer[], input: Float32Array, batch: number): Float64Array {
  let x: ArrayLike<number> = input;
  layers.forEach((layer, li) => {
    const y = new Float64Array(batch * layer.outFeatures);
    for (let b = 0; b < batch; b++) {
      for (let o = 0; o < layer.outFeatures; o++) {
        let acc = layer.bias[o];
        const row = o * layer.inFeatures;
        for (let i = 0; i < layer.inFeatures; i++) acc += x[b * layer.inFeatures + i] * layer.weight[row + i];
        y[b * layer.outFeatures + o] = li < layers.length - 1 ? Math.max(0, acc) : acc;
      }
    }
    x = y;
  });
  return x as Float64Array;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
  return max;
}

describe('test model files', () => {
  it('builds every model to the same bytes twice (deterministic)', () => {
    for (const name of TEST_MODEL_NAMES.filter((n) => !TEST_MODELS[n].large)) {
      expect(Buffer.from(TEST_MODELS[name].build()).equals(Buffer.from(TEST_MODELS[name].build()))).toBe(true);
    }
  });

  it.each(TEST_MODEL_NAMES.filter((n) => !TEST_MODELS[n].large))(
    'committed fixture %s matches the generator (else run `npm run models:generate`)',
    async (name) => {
      const committed = await readFile(join(FIXTURES, TEST_MODELS[name].fileName));
      expect(committed.equals(Buffer.from(TEST_MODELS[name].build()))).toBe(true);
    },
  );
});

describe('elementwise.onnx', () => {
  it('computes Relu(x * 2 + 1) for any batch size', async () => {
    const s = await session('elementwise');
    const seen: number[] = [];
    try {
      for (const batch of [1, 3]) {
        const x = sampleInput(batch * 4, batch);
        const { y } = await s.run({ x: new Tensor('float32', x, [batch, 4]) });
        expect(y.dims).toEqual([batch, 4]);
        const expected = Array.from(x, (v) => Math.max(0, v * 2 + 1));
        expect(maxAbsDiff(y.data as Float32Array, expected)).toBeLessThan(1e-6);
        seen.push(...expected);
      }
    } finally {
      await s.release();
    }
    // The inputs must hit both sides of Relu, or a model without it would pass too.
    expect(seen.some((v) => v === 0) && seen.some((v) => v > 1)).toBe(true);
  });
});

describe('mlp-small.onnx', () => {
  it('matches a TypeScript forward pass over the same seeded weights within 1e-5', async () => {
    const layers = mlpLayers('mlp-small', MLP_SMALL_WIDTHS);
    const s = await session('mlp-small');
    try {
      for (const batch of [1, 5]) {
        const input = sampleInput(batch * 16, 7);
        const { logits } = await s.run({ input: new Tensor('float32', input, [batch, 16]) });
        expect(logits.dims).toEqual([batch, 4]);
        const expected = mlpReference(layers, input, batch);
        expect(maxAbsDiff(logits.data as Float32Array, expected)).toBeLessThan(1e-5);
        // Weights of a different seed must not pass: the comparison can fail.
        const other = mlpReference(mlpLayers('other-seed', MLP_SMALL_WIDTHS), input, batch);
        expect(maxAbsDiff(logits.data as Float32Array, other)).toBeGreaterThan(1e-2);
      }
    } finally {
      await s.release();
    }
  });
});

describe('mlp-1024.onnx', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'test-models-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('is written on demand by ensureTestModel, once, and matches a TypeScript forward pass', async () => {
    const path = await ensureTestModel('mlp-1024', dir);
    const first = await stat(path);
    expect(first.size).toBeGreaterThan(8_000_000);
    expect(await ensureTestModel('mlp-1024', dir)).toBe(path);
    expect((await stat(path)).mtimeMs).toBe(first.mtimeMs);

    const s = await InferenceSession.create(path, QUIET);
    try {
      const batch = 2;
      const input = sampleInput(batch * 1024, 3);
      const { logits } = await s.run({ input: new Tensor('float32', input, [batch, 1024]) });
      expect(logits.dims).toEqual([batch, 16]);
      const expected = mlpReference(mlpLayers('mlp-1024', MLP_1024_WIDTHS), input, batch);
      // Measured ~1e-7 (float32 sums in onnxruntime vs float64 here) on logits up to ~0.2, so 1e-5
      // still catches a weight off by 1e-4 relative.
      expect(Math.max(...Array.from(expected, Math.abs))).toBeGreaterThan(0.05);
      expect(maxAbsDiff(logits.data as Float32Array, expected)).toBeLessThan(1e-5);
    } finally {
      await s.release();
    }
  });
});

describe('two-inputs.onnx', () => {
  it('multiplies x by float(k) and sums k per row as int64', async () => {
    const s = await session('two-inputs');
    try {
      const x = Float32Array.from([1, 2, 3, -4, 5, 0.5]);
      const k = BigInt64Array.from([1n, 2n, 3n, 4n, -5n, 10n]);
      const out = await s.run({ x: new Tensor('float32', x, [2, 3]), k: new Tensor('int64', k, [2, 3]) });
      expect(Array.from(out.y.data as Float32Array)).toEqual([1, 4, 9, -16, -25, 5]);
      expect(out.s.type).toBe('int64');
      expect(out.s.dims).toEqual([2]);
      expect(Array.from(out.s.data as BigInt64Array)).toEqual([6n, 9n]);
    } finally {
      await s.release();
    }
  });
});

describe('all-dtypes.onnx', () => {
  it('passes every dtype through unchanged', async () => {
    const n = 3;
    const feeds: Record<(typeof ALL_DTYPES)[number], Tensor> = {
      float32: new Tensor('float32', Float32Array.from([1.5, -2, 3e30]), [n]),
      float64: new Tensor('float64', Float64Array.from([1e-300, -2, Math.PI]), [n]),
      int32: new Tensor('int32', Int32Array.from([2 ** 31 - 1, -(2 ** 31), 0]), [n]),
      int64: new Tensor('int64', BigInt64Array.from([2n ** 62n, -1n, 0n]), [n]),
      uint8: new Tensor('uint8', Uint8Array.from([0, 128, 255]), [n]),
      int8: new Tensor('int8', Int8Array.from([-128, 0, 127]), [n]),
      bool: new Tensor('bool', Uint8Array.from([1, 0, 1]), [n]),
      string: new Tensor('string', ['a', '', 'ünïcødé'], [n]),
    };
    const s = await session('all-dtypes');
    try {
      const out = await s.run(feeds);
      for (const dtype of ALL_DTYPES) {
        const result = out[`${dtype}_out`];
        expect(result.type).toBe(dtype);
        expect(result.dims).toEqual([n]);
        expect(Array.from(result.data as ArrayLike<unknown>)).toEqual(
          Array.from(feeds[dtype].data as ArrayLike<unknown>),
        );
      }
    } finally {
      await s.release();
    }
  });
});

describe('throws.onnx', () => {
  it('runs with 6 elements, fails inside onnxruntime otherwise, and the session stays usable', async () => {
    const s = await session('throws');
    try {
      const ok = await s.run({ x: new Tensor('float32', sampleInput(6, 1), [6]) });
      expect(ok.y.dims).toEqual([2, 3]);
      await expect(s.run({ x: new Tensor('float32', sampleInput(5, 1), [5]) })).rejects.toThrow(
        /cannot be reshaped to the requested shape/,
      );
      const again = await s.run({ x: new Tensor('float32', Float32Array.from([1, 2, 3, 4, 5, 6]), [6]) });
      expect(Array.from(again.y.data as Float32Array)).toEqual([1, 2, 3, 4, 5, 6]);
    } finally {
      await s.release();
    }
  });
});
