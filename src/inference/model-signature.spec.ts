import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  InvalidModelError,
  type InvalidModelCode,
  type ModelSignature,
  readModelSignature,
} from './model-signature.js';
import { OnnxModelBuilder } from './onnx-model-builder.js';
import { ALL_DTYPES, TEST_MODELS } from './test-models.js';

const FIXTURES = fileURLToPath(new URL('../../test/fixtures/models/', import.meta.url));

const spec = (name: string, dtype: string, shape: string[]) => ({ name, dtype, shape });

describe('readModelSignature', () => {
  it.each<[string, ModelSignature]>([
    [
      'elementwise.onnx',
      { inputs: [spec('x', 'float32', ['batch', '4'])], outputs: [spec('y', 'float32', ['batch', '4'])] },
    ],
    [
      'mlp-small.onnx',
      { inputs: [spec('input', 'float32', ['batch', '16'])], outputs: [spec('logits', 'float32', ['batch', '4'])] },
    ],
    [
      'two-inputs.onnx',
      {
        inputs: [spec('x', 'float32', ['batch', '3']), spec('k', 'int64', ['batch', '3'])],
        outputs: [spec('y', 'float32', ['batch', '3']), spec('s', 'int64', ['batch'])],
      },
    ],
    [
      'all-dtypes.onnx',
      {
        inputs: ALL_DTYPES.map((d) => spec(d, d, ['n'])),
        outputs: ALL_DTYPES.map((d) => spec(`${d}_out`, d, ['n'])),
      },
    ],
    ['throws.onnx', { inputs: [spec('x', 'float32', ['n'])], outputs: [spec('y', 'float32', ['2', '3'])] }],
  ])('reads %s from its file', async (file, expected) => {
    expect(await readModelSignature(join(FIXTURES, file))).toEqual(expected);
  });

  it('reads the same signature from bytes as from the file', async () => {
    expect(await readModelSignature(TEST_MODELS['two-inputs'].build())).toEqual(
      await readModelSignature(join(FIXTURES, 'two-inputs.onnx')),
    );
  });

  it('writes unnamed dynamic dims as "?"', async () => {
    const bytes = new OnnxModelBuilder({ graphName: 'g' })
      .input('x', 'float32', ['', 3])
      .output('y', 'float32', ['', 3])
      .node('Identity', ['x'], ['y'])
      .toBytes();
    expect(await readModelSignature(bytes)).toEqual({
      inputs: [spec('x', 'float32', ['?', '3'])],
      outputs: [spec('y', 'float32', ['?', '3'])],
    });
  });
});

describe('readModelSignature on models that do not load', () => {
  const identity = (options: { opset?: number; irVersion?: number } = {}, op = 'Identity') =>
    new OnnxModelBuilder({ graphName: 'g', ...options })
      .input('x', 'float32', ['n'])
      .output('y', 'float32', ['n'])
      .node(op, ['x'], ['y'])
      .toBytes();

  const mlp = TEST_MODELS['mlp-small'].build();
  // A fixed pseudo-random byte pattern (not ONNX, not any known magic).
  const noise = Uint8Array.from({ length: 512 }, (_, i) => (i * 167 + 13) & 0xff);

  async function rejection(source: string | Uint8Array): Promise<InvalidModelError> {
    const err: unknown = await readModelSignature(source).then(
      () => new Error('expected readModelSignature to reject'),
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(InvalidModelError);
    return err as InvalidModelError;
  }

  it.each<[string, Uint8Array, InvalidModelCode, RegExp]>([
    ['random bytes', noise, 'NOT_ONNX', /^not an ONNX file/],
    ['an empty file', new Uint8Array(0), 'NOT_ONNX', /empty/],
    ['a PyTorch zip checkpoint', Uint8Array.from([0x50, 0x4b, 3, 4, ...noise.subarray(0, 60)]), 'NOT_ONNX', /ZIP/],
    ['a truncated model', mlp.subarray(0, Math.floor(mlp.length / 2)), 'CORRUPT', /^corrupt or truncated/],
    ['opset 99', identity({ opset: 99 }), 'UNSUPPORTED_OPSET', /^unsupported opset 99\b.*up to opset \d+/],
    ['IR version 99', identity({ irVersion: 99 }), 'UNSUPPORTED_IR_VERSION', /^unsupported IR version 99\b/],
    ['an unknown operator', identity({}, 'FancyOp'), 'UNSUPPORTED_OPERATOR', /FancyOp/],
    ['a type error', identity({}, 'Not'), 'INVALID_GRAPH', /^invalid graph: .*Type Error/],
  ])('rejects %s', async (_what, bytes, code, reason) => {
    const err = await rejection(bytes);
    expect(err.code).toBe(code);
    expect(err.reason).toMatch(reason);
    expect(err.detail.length).toBeGreaterThan(0);
    expect(err.message).toBe(`Invalid model: ${err.reason}`);
  });

  describe('from a path', () => {
    let dir: string;
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'model-signature-'));
    });
    afterAll(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it('tells a truncated file from a file that is not ONNX', async () => {
      await writeFile(join(dir, 'truncated.onnx'), mlp.subarray(0, 1000));
      await writeFile(join(dir, 'noise.onnx'), noise);
      expect((await rejection(join(dir, 'truncated.onnx'))).code).toBe('CORRUPT');
      expect((await rejection(join(dir, 'noise.onnx'))).code).toBe('NOT_ONNX');
    });

    it('lets a missing file fail as a missing file, not as an invalid model', async () => {
      const err: unknown = await readModelSignature(join(dir, 'absent.onnx')).catch((e: unknown) => e);
      // fs errors come from Node's realm, not Jest's, so `toBeInstanceOf(Error)` would fail here.
      expect(err).not.toBeInstanceOf(InvalidModelError);
      expect((err as NodeJS.ErrnoException).code).toBe('ENOENT');
    });
  });
});
