// Conversions between the API's tensor encodings (a flat row-major JSON array, or base64 of the
// raw little-endian bytes) and wire tensors. Decoding checks every element, so a bad value is a
// BAD_USER_INPUT naming the input and the index, never a silent NaN or a wrapped integer.
//
// Non-finite floats: JSON has no literal for NaN or ±Infinity, so float inputs accept the strings
// "NaN", "Infinity" and "-Infinity" and float outputs use the same strings; base64 carries any
// IEEE-754 bits as they are. A finite number too large for float32 is refused rather than
// silently becoming Infinity.
import { badInput } from '../shared/errors.js';
import { BYTES_PER_ELEMENT, type DType, type WireTensor } from './tensor-types.js';

export type OutputEncoding = 'JSON' | 'B64';

/** A tensor as a client sends it (the GraphQL `TensorInput`, or a JSON job payload). */
export type TensorInputLike = {
  name: string;
  dtype: string;
  shape: readonly number[];
  data?: unknown;
  b64?: string | null;
};

/** A tensor as a client receives it (the GraphQL `TensorOutput`). */
export type TensorOutputJson = {
  name: string;
  dtype: string;
  shape: number[];
  data: unknown[] | null;
  b64: string | null;
};

const FLOAT32_MAX = 3.4028234663852886e38;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const INTEGER_STRING = /^-?\d{1,20}$/;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const NON_FINITE: Record<string, number> = { NaN: NaN, Infinity: Infinity, '-Infinity': -Infinity };
const INT_RANGES = { int32: [-(2 ** 31), 2 ** 31 - 1], uint8: [0, 255], int8: [-128, 127] } as const;

type NumericDType = Exclude<DType, 'string'>;

/** Decodes `data` (a flat JSON array of `count` elements) into the tensor's wire payload. */
export function decodeJsonData(name: string, dtype: DType, count: number, data: unknown): ArrayBuffer | string[] {
  if (!Array.isArray(data)) throw badInput(`input "${name}": data must be a flat array of ${count} elements`);
  return decodeElements(name, dtype, count, data as unknown[]);
}

function decodeElements(name: string, dtype: DType, count: number, data: unknown[]): ArrayBuffer | string[] {
  if (data.length !== count) {
    throw badInput(
      `input "${name}": data has ${data.length} elements but its shape needs ${count} (data is flat and row-major)`,
      { input: name, expected: count, actual: data.length },
    );
  }
  const bad = (i: number, what: string): never => {
    throw badInput(`input "${name}": data[${i}] is ${JSON.stringify(data[i]) ?? 'undefined'}, expected ${what}`, {
      input: name,
      index: i,
    });
  };
  switch (dtype) {
    case 'string': {
      for (let i = 0; i < count; i++) if (typeof data[i] !== 'string') bad(i, 'a string');
      return data as string[];
    }
    case 'float32':
    case 'float64': {
      const out = dtype === 'float32' ? new Float32Array(count) : new Float64Array(count);
      for (let i = 0; i < count; i++) {
        const v = data[i];
        if (typeof v === 'number') {
          if (dtype === 'float32' && Math.abs(v) > FLOAT32_MAX) bad(i, 'a number within float32 range');
          out[i] = v;
        } else if (typeof v === 'string' && v in NON_FINITE) out[i] = NON_FINITE[v];
        else bad(i, 'a number (or "NaN", "Infinity", "-Infinity")');
      }
      return out.buffer;
    }
    case 'int32':
    case 'uint8':
    case 'int8': {
      const [min, max] = INT_RANGES[dtype];
      const out =
        dtype === 'int32' ? new Int32Array(count) : dtype === 'uint8' ? new Uint8Array(count) : new Int8Array(count);
      for (let i = 0; i < count; i++) {
        const v = data[i];
        if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max)
          bad(i, `an integer in [${min}, ${max}]`);
        out[i] = v as number;
      }
      return out.buffer;
    }
    case 'int64': {
      const out = new BigInt64Array(count);
      for (let i = 0; i < count; i++) {
        const v = data[i];
        let big: bigint | undefined;
        if (typeof v === 'number' && Number.isSafeInteger(v)) big = BigInt(v);
        else if (typeof v === 'string' && INTEGER_STRING.test(v)) big = BigInt(v);
        if (big === undefined || big < INT64_MIN || big > INT64_MAX) {
          bad(i, 'an int64 (a safe integer number, or a decimal string for larger values)');
        }
        out[i] = big as bigint;
      }
      return out.buffer;
    }
    case 'bool': {
      const out = new Uint8Array(count);
      for (let i = 0; i < count; i++) {
        const v = data[i];
        if (typeof v !== 'boolean') bad(i, 'true or false');
        out[i] = v ? 1 : 0;
      }
      return out.buffer;
    }
  }
}

/** Decodes base64 raw little-endian bytes; the byte length must match the shape exactly. */
export function decodeB64Data(name: string, dtype: DType, count: number, b64: string): ArrayBuffer {
  if (dtype === 'string') throw badInput(`input "${name}": string tensors take data (an array of strings), not b64`);
  const expected = count * BYTES_PER_ELEMENT[dtype];
  // Buffer.from(…, 'base64') skips characters it does not know and stops at padding, so a
  // corrupted payload decodes to fewer bytes than its length promises: with the length a multiple
  // of 4, getting exactly the expected bytes means every character was base64. The regular
  // expression that says which error it was runs only on failure (on a 1024-float tensor it costs
  // four times the decode itself).
  if (b64.length % 4 !== 0) throw badInput(`input "${name}": b64 is not valid base64`);
  const approx = (b64.length / 4) * 3;
  const decoded = approx >= expected && approx - 2 <= expected ? Buffer.from(b64, 'base64') : undefined;
  if (decoded?.byteLength !== expected) {
    if (!BASE64.test(b64)) throw badInput(`input "${name}": b64 is not valid base64`);
    throw wrongLength(name, dtype, expected, decoded?.byteLength ?? approx);
  }
  // Buffer.from may return a view into Node's shared pool; copy into an ArrayBuffer of our own so
  // it can be transferred to a worker.
  const own = new Uint8Array(expected);
  own.set(decoded);
  return own.buffer;
}

const wrongLength = (name: string, dtype: NumericDType, expected: number, actual: number) =>
  badInput(`input "${name}": b64 decodes to ${actual} bytes but its shape and dtype ${dtype} need ${expected}`, {
    input: name,
    expected,
    actual,
  });

/** Typed view of a numeric wire payload. */
export function typedView(dtype: NumericDType, data: ArrayBuffer) {
  switch (dtype) {
    case 'float32':
      return new Float32Array(data);
    case 'float64':
      return new Float64Array(data);
    case 'int32':
      return new Int32Array(data);
    case 'int64':
      return new BigInt64Array(data);
    case 'uint8':
    case 'bool':
      return new Uint8Array(data);
    case 'int8':
      return new Int8Array(data);
  }
}

/**
 * Encodes an output. JSON: floats as numbers (non-finite ones as "NaN"/"Infinity"/"-Infinity"),
 * int64 as decimal strings (exact beyond 2^53, one type for every value), bool as booleans.
 */
export function encodeOutput(t: WireTensor, encoding: OutputEncoding): TensorOutputJson {
  const base = { name: t.name, dtype: t.dtype, shape: t.dims };
  if (Array.isArray(t.data)) return { ...base, data: t.data, b64: null };
  if (encoding === 'B64' && t.dtype !== 'string') {
    return { ...base, data: null, b64: Buffer.from(t.data).toString('base64') };
  }
  const view = typedView(t.dtype as NumericDType, t.data);
  let data: unknown[];
  if (t.dtype === 'int64') data = Array.from(view as BigInt64Array, (v) => v.toString());
  else if (t.dtype === 'bool') data = Array.from(view as Uint8Array, (v) => v !== 0);
  else if (t.dtype === 'float32' || t.dtype === 'float64') {
    data = Array.from(view as Float32Array, (v) => (Number.isFinite(v) ? v : String(v)));
  } else data = Array.from(view as Int32Array);
  return { ...base, data, b64: null };
}
