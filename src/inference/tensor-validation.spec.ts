import { AppError } from '../shared/errors.js';
import { encodeOutput } from './tensor-codec.js';
import { validateAndDecodeInputs, type SignatureSpec } from './tensor-validation.js';

const LIMITS = { maxRequestBytes: 1024 };
const SIG: SignatureSpec[] = [
  { name: 'x', dtype: 'float32', shape: ['batch', '3'] },
  { name: 'k', dtype: 'int64', shape: ['batch', '?'] },
];

function error(fn: () => unknown): AppError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(AppError);
    return err as AppError;
  }
  throw new Error('expected an error');
}

describe('validateAndDecodeInputs', () => {
  const x = { name: 'x', dtype: 'float32', shape: [2, 3], data: [1, 2, 3, 4, 5, 6] };
  const k = { name: 'k', dtype: 'int64', shape: [2, 5], data: new Array<string>(10).fill('7') };

  it('decodes in signature order and binds symbolic dims; "?" takes any size', () => {
    const { tensors, bindings } = validateAndDecodeInputs([k, x], SIG, LIMITS);
    expect(tensors.map((t) => [t.name, t.dims])).toEqual([
      ['x', [2, 3]],
      ['k', [2, 5]],
    ]);
    expect(bindings).toEqual({ batch: 2 });
    expect([...new BigInt64Array(tensors[1].data as ArrayBuffer)]).toEqual(new Array(10).fill(7n));
  });

  it.each([
    [[x], /^missing input "k": the model takes x \(float32 \[batch, 3\]\), k \(int64 \[batch, \?\]\)$/],
    [[x, k, { ...x, name: 'extra' }], /^unknown input "extra"/],
    [[x, x, k], /^input "x" is given twice$/],
    [[{ ...x, dtype: 'float16' }, k], /^input "x": unknown dtype "float16"; one of float32, float64/],
    [[{ ...x, dtype: 'float64' }, k], /^input "x": dtype float64 given, the model expects float32$/],
    [[{ ...x, shape: [6] }, k], /^input "x": shape \[6\] has rank 1, the model expects \[batch, 3\]$/],
    [[{ ...x, shape: [0, 3] }, k], /dimension 0 is 0; every dimension must be a positive integer/],
    [
      [x, { ...k, shape: [1, 10] }],
      /^input "k": dimension 0 \("batch"\) is 1, but input "x" set "batch" to 2; they must agree$/,
    ],
    [[{ ...x, data: [1, 2, 3] }, k], /^input "x": data has 3 elements but its shape needs 6/],
    [[{ ...x, data: [1, 2, 3, 4, 5, 'x'] }, k], /^input "x": data\[5\] is "x", expected a number/],
    [[{ ...x, data: [1, 2, 3, 4, 5, 1e39] }, k], /data\[5\] is 1e\+39, expected a number within float32 range/],
    [[x, { ...k, data: [...k.data.slice(1), 1.5] }], /^input "k": data\[9\] is 1.5, expected an int64/],
    [
      [x, { ...k, data: [...k.data.slice(1), '9223372036854775808'] }],
      /data\[9\] is "9223372036854775808", expected an int64/,
    ],
    [[{ ...x, data: undefined }, k], /^input "x": give exactly one of data and b64$/],
    [[{ ...x, b64: 'AAAA' }, k], /^input "x": give exactly one of data and b64$/],
    [
      [{ ...x, data: undefined, b64: 'AAAA' }, k],
      /^input "x": b64 decodes to 3 bytes but its shape and dtype float32 need 24$/,
    ],
    [[{ ...x, data: undefined, b64: '!!!!' }, k], /^input "x": b64 is not valid base64$/],
    // The right length for 24 bytes, one character corrupted: an error, not a shorter tensor.
    [
      [{ ...x, data: undefined, b64: `${'A'.repeat(15)}!${'A'.repeat(16)}` }, k],
      /^input "x": b64 is not valid base64$/,
    ],
    [[{ ...x, data: undefined, b64: `${'A'.repeat(28)}A=AA` }, k], /^input "x": b64 is not valid base64$/],
  ])('refuses a mismatch with BAD_USER_INPUT naming the input (%#)', (inputs, message) => {
    const err = error(() => validateAndDecodeInputs(inputs, SIG, LIMITS));
    expect(err.code).toBe('BAD_USER_INPUT');
    expect(err.message).toMatch(message);
  });

  it('refuses requests over the size limit before decoding them', () => {
    const big = { name: 'x', dtype: 'float32', shape: [100, 3], data: 'not even looked at' };
    const err = error(() => validateAndDecodeInputs([big, { ...k, shape: [100, 1] }], SIG, LIMITS));
    expect(err.code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('checks integer ranges and bools per dtype', () => {
    const sig = (dtype: string): SignatureSpec[] => [{ name: 'v', dtype, shape: ['n'] }];
    const run = (dtype: string, data: unknown[]) =>
      validateAndDecodeInputs([{ name: 'v', dtype, shape: [data.length], data }], sig(dtype), LIMITS);
    expect(() => run('uint8', [256])).toThrow(/expected an integer in \[0, 255\]/);
    expect(() => run('int8', [-129])).toThrow(/expected an integer in \[-128, 127\]/);
    expect(() => run('int32', [2 ** 31])).toThrow(/expected an integer in/);
    expect(() => run('bool', [1])).toThrow(/expected true or false/);
    expect(() => run('string', [1])).toThrow(/expected a string/);
    expect(() => run('string', ['a']).tensors[0]).not.toThrow();
    expect(() =>
      validateAndDecodeInputs([{ name: 'v', dtype: 'string', shape: [1], b64: 'AAAA' }], sig('string'), LIMITS),
    ).toThrow(/string tensors take data/);
  });

  it('round-trips b64 bytes exactly, NaN payloads included', () => {
    const f = new Float32Array([NaN, -0, Infinity]);
    const b64 = Buffer.from(f.buffer).toString('base64');
    const sig: SignatureSpec[] = [{ name: 'v', dtype: 'float32', shape: ['3'] }];
    const { tensors } = validateAndDecodeInputs([{ name: 'v', dtype: 'float32', shape: [3], b64 }], sig, LIMITS);
    expect(encodeOutput(tensors[0], 'B64').b64).toBe(b64);
    expect(encodeOutput(tensors[0], 'JSON').data).toEqual(['NaN', -0, 'Infinity']);
  });
});
