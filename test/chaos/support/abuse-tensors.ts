import { ALL_DTYPES } from '../../../src/inference/test-models.js';
import { seeded } from './abuse-harness.js';

/**
 * Invalid (and a few valid but nasty) tensor inputs for `predict`, generated per class: dtypes,
 * shapes, element values per dtype, base64 payloads, input names. `valid: true` marks inputs the
 * model must run (NaN and infinities are legal floats); everything else must be refused.
 */
export type TensorInput = { name: string; dtype: string; shape: unknown; data?: unknown; b64?: unknown };
export type TensorCase = { label: string; inputs: TensorInput[]; valid?: boolean };

const x = (over: Partial<TensorInput> = {}): TensorInput => ({
  name: 'x',
  dtype: 'float32',
  shape: [1, 4],
  data: [0, 1, 2, 3],
  ...over,
});

/** `valid`: true must run, false must be refused, absent: either. */

/** Cases for elementwise.onnx: x float32 [batch, 4]. */
export function elementwiseCases(): TensorCase[] {
  const rnd = seeded('tensors');
  const cases: TensorCase[] = [];
  const add = (label: string, inputs: TensorInput[], valid = false) => cases.push({ label, inputs, valid });

  for (const dtype of [
    ...ALL_DTYPES.filter((d) => d !== 'float32'),
    'float16',
    'bfloat16',
    'complex64',
    'FLOAT32',
    ' float32',
    '',
    'float32; drop table predictions',
    'x'.repeat(10_000),
  ]) {
    add(`dtype ${dtype.slice(0, 30)}`, [x({ dtype })]);
  }
  const shapes: [unknown[], number][] = [
    [[], 4],
    [[4], 4],
    [[1, 4, 1], 4],
    [[0, 4], 0],
    [[-1, 4], 4],
    [[1, -4], 4],
    [[2, 4], 4],
    [[1, 3], 4],
    [[1, 5], 4],
    [[2 ** 31 - 1, 4], 4],
    [[2 ** 30, 2 ** 30], 4],
    [[1_000_000, 4], 4],
    [[1, 4, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1], 4],
  ];
  for (const [shape, n] of shapes) {
    add(`shape [${shape.join(',')}] with ${n} values`, [x({ shape, data: Array.from({ length: n }, (_, i) => i) })]);
  }
  for (const shape of [[1.5, 4], ['1', '4'], [2 ** 31, 4], [null, 4], 'x', [[1], [4]]]) {
    add(`shape ${JSON.stringify(shape)}`, [x({ shape })]);
  }
  // Element values for float32: NaN and infinities are legal (strings); the rest is not.
  for (const v of ['NaN', 'Infinity', '-Infinity']) add(`float32 ${v}`, [x({ data: [v, 0, v, 1] })], true);
  add('float32 beyond float32 range', [x({ data: [1e300, -1e300, 5e-324, -0] })]);
  for (const v of [null, {}, [], 'nan', 'inf', 'abc', '', true, '1.5', '0x10', [1, 2], { valueOf: 1 }]) {
    add(`float32 element ${JSON.stringify(v)}`, [x({ data: [v, 0, 0, 0] })]);
  }
  add('data nested per row', [x({ data: [[0, 1, 2, 3]] })]);
  add('data an object', [x({ data: { 0: 1, 1: 2, 2: 3, 3: 4 } })]);
  add('data a string', [x({ data: '0,1,2,3' })]);
  add('data null', [x({ data: null })]);
  add('data nested 2000 deep', [x({ data: JSON.parse(`${'['.repeat(2000)}0${']'.repeat(2000)}`) as unknown })]);
  // Base64 payloads.
  const f32 = (values: number[]) => Buffer.from(new Float32Array(values).buffer).toString('base64');
  add('b64 valid', [x({ data: undefined, b64: f32([0, 1, 2, 3]) })], true);
  add('b64 and data', [x({ b64: f32([0, 1, 2, 3]) })]);
  add('neither b64 nor data', [x({ data: undefined })]);
  add('b64 short by a byte', [x({ data: undefined, b64: Buffer.alloc(15).toString('base64') })]);
  add('b64 long by 4 bytes', [x({ data: undefined, b64: Buffer.alloc(20).toString('base64') })]);
  add('b64 not base64', [x({ data: undefined, b64: '!!!!' + '%'.repeat(20) })]);
  add('b64 url alphabet', [x({ data: undefined, b64: Buffer.alloc(16, 0xfb).toString('base64url') })]);
  add('b64 a number', [x({ data: undefined, b64: 12345 })]);
  add('b64 of 4 MB for 4 floats', [x({ data: undefined, b64: Buffer.alloc(4 * 1024 * 1024).toString('base64') })]);
  for (let i = 0; i < 6; i++) {
    const bytes = Buffer.alloc(16 + 4 * rnd.int(4) + rnd.int(4));
    add(
      `b64 of ${bytes.length} random bytes`,
      [x({ data: undefined, b64: bytes.toString('base64') })],
      bytes.length === 16,
    );
  }
  // Names.
  add('wrong name', [x({ name: 'y' })]);
  add('empty name', [x({ name: '' })]);
  add('the input twice', [x(), x()]);
  add('an extra input', [x(), x({ name: 'z' })]);
  add('no inputs', []);
  add(
    '500 inputs',
    Array.from({ length: 500 }, (_, i) => x({ name: `x${i}` })),
  );
  add('a name 100 kB long', [x({ name: 'x'.repeat(100_000) })]);
  // Shape and data that disagree at seeded sizes.
  for (let i = 0; i < 8; i++) {
    const rows = 1 + rnd.int(64);
    const n = rows * 4 + (rnd.int(3) - 1) * (1 + rnd.int(3));
    add(
      `[${rows},4] with ${n} values`,
      [x({ shape: [rows, 4], data: Array.from({ length: n }, () => rnd.next()) })],
      n === rows * 4,
    );
  }
  return cases;
}

const goodValues: Record<(typeof ALL_DTYPES)[number], unknown[]> = {
  float32: [1.5, 'NaN'],
  float64: [1e300, '-Infinity'],
  int32: [2 ** 31 - 1, -(2 ** 31)],
  int64: ['9223372036854775807', '-9223372036854775808'],
  uint8: [0, 255],
  int8: [-128, 127],
  bool: [true, false],
  string: ['', 'x'.repeat(1000)],
};

const badValues: Record<(typeof ALL_DTYPES)[number], unknown[]> = {
  float32: ['1,5', [], {}],
  float64: ['NaNa', null, false],
  int32: [2 ** 31, -(2 ** 31) - 1, 1.5, '1.5', 'NaN', '0x10'],
  int64: ['9223372036854775808', '-9223372036854775809', '1.5', 1.5, 2 ** 53 + 2, '1e3', ' 1', '', 'NaN'],
  uint8: [256, -1, 0.5, '255'],
  int8: [128, -129, 1.5],
  bool: [0, 1, 'true', null],
  string: [1, null, true, ['a'], { a: 1 }],
};

/** Cases for all-dtypes.onnx: one input per dtype, all of shape ["n"]; one input broken at a time. */
export function allDtypesCases(): TensorCase[] {
  const base = () => ALL_DTYPES.map((dtype) => ({ name: dtype, dtype, shape: [2], data: goodValues[dtype] }));
  const cases: TensorCase[] = [{ label: 'all dtypes at their limits', inputs: base(), valid: true }];
  for (const dtype of ALL_DTYPES) {
    for (const v of badValues[dtype]) {
      const inputs = base();
      inputs[ALL_DTYPES.indexOf(dtype)].data = [goodValues[dtype][0], v];
      cases.push({ label: `${dtype} element ${JSON.stringify(v)}`, inputs, valid: false });
    }
    // The symbolic dim "n" bound to two different values across inputs.
    const inputs = base();
    inputs[ALL_DTYPES.indexOf(dtype)] = {
      ...inputs[ALL_DTYPES.indexOf(dtype)],
      shape: [3],
      data: [...goodValues[dtype], goodValues[dtype][0]],
    };
    // Whether a symbolic dim must agree across inputs is the model's business: either answer is fine.
    cases.push({ label: `${dtype} disagreeing on n`, inputs });
  }
  return cases;
}
