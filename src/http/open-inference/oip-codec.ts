// The Open Inference Protocol's REST bodies (KServe v2, with Triton's binary tensor data
// extension), turned into what `predict` takes and back. Pure: no I/O, no services.
// https://kserve.github.io/website/latest/modelserving/data_plane/v2_protocol/
// https://github.com/triton-inference-server/server/blob/main/docs/protocol/extension_binary_data.md
import { typedView, type TensorInputLike, type TensorOutputJson } from '../../inference/tensor-codec.js';
import type { DType } from '../../inference/tensor-types.js';
import { badInput } from '../../shared/errors.js';

/** OIP datatype names ↔ ours. */
const TO_DTYPE: Record<string, string> = {
  BOOL: 'bool',
  INT8: 'int8',
  UINT8: 'uint8',
  INT32: 'int32',
  INT64: 'int64',
  FP32: 'float32',
  FP64: 'float64',
  BYTES: 'string',
};
const TO_DATATYPE = Object.fromEntries(Object.entries(TO_DTYPE).map(([k, v]) => [v, k]));

export const datatypeOf = (dtype: string): string => TO_DATATYPE[dtype] ?? dtype.toUpperCase();

type InferInput = {
  name?: unknown;
  shape?: unknown;
  datatype?: unknown;
  data?: unknown;
  parameters?: { binary_data_size?: unknown };
};
type RequestedOutput = { name?: unknown; parameters?: { binary_data?: unknown } };

export type InferRequest = {
  id?: string;
  inputs: TensorInputLike[];
  /** Outputs asked for by name; absent: all. */
  outputs?: string[];
  /** Output names to return as binary data. `'*'` in it: every output. */
  binaryOutputs: Set<string>;
};

/** Flattens nested row-major arrays (the protocol allows either form), without recursion. */
function flatten(data: unknown): unknown[] {
  if (!Array.isArray(data)) return [data];
  if (!data.some(Array.isArray)) return data;
  const out: unknown[] = [];
  // A stack of [array, next index]: depth is the client's choice, the call stack's is not.
  const stack: [unknown[], number][] = [[data, 0]];
  while (stack.length) {
    const top = stack[stack.length - 1];
    if (top[1] >= top[0].length) {
      stack.pop();
      continue;
    }
    const value = top[0][top[1]++];
    if (Array.isArray(value)) stack.push([value, 0]);
    else out.push(value);
  }
  return out;
}

/** Reads 4-byte little-endian length-prefixed elements (BYTES in binary form). */
function bytesElements(buf: Buffer, name: string): string[] {
  const out: string[] = [];
  for (let at = 0; at < buf.length;) {
    if (at + 4 > buf.length) throw badInput(`input "${name}": BYTES data ends inside a length prefix`);
    const n = buf.readUInt32LE(at);
    at += 4;
    if (at + n > buf.length) throw badInput(`input "${name}": BYTES element longer than its data`);
    out.push(buf.subarray(at, at + n).toString('utf8'));
    at += n;
  }
  return out;
}

/**
 * Parses an infer request: JSON alone, or (with `Inference-Header-Content-Length`) a JSON header
 * followed by the inputs' raw bytes in order, each `parameters.binary_data_size` long.
 */
export function parseInferRequest(body: Buffer, headerLength: number | undefined): InferRequest {
  const jsonEnd = headerLength ?? body.length;
  if (!Number.isInteger(jsonEnd) || jsonEnd < 0 || jsonEnd > body.length) {
    throw badInput(`Inference-Header-Content-Length ${headerLength} does not fit the ${body.length}-byte body`);
  }
  let header: { id?: unknown; inputs?: unknown; outputs?: unknown; parameters?: { binary_data_output?: unknown } };
  try {
    header = JSON.parse(body.subarray(0, jsonEnd).toString('utf8')) as typeof header;
  } catch {
    throw badInput('the request (or its JSON header) is not valid JSON');
  }
  if (!header || typeof header !== 'object' || !Array.isArray(header.inputs) || header.inputs.length === 0) {
    throw badInput('"inputs" must be a non-empty array');
  }
  let at = jsonEnd;
  const inputs = (header.inputs as InferInput[]).map((input, i): TensorInputLike => {
    const name = typeof input?.name === 'string' ? input.name : '';
    if (!name) throw badInput(`inputs[${i}]: "name" is required`);
    const dtype = typeof input.datatype === 'string' ? TO_DTYPE[input.datatype] : undefined;
    if (!dtype) {
      throw badInput(
        `input "${name}": datatype ${JSON.stringify(input.datatype)} is not one of ${Object.keys(TO_DTYPE).join(', ')}`,
      );
    }
    if (!Array.isArray(input.shape) || !input.shape.every((d) => Number.isInteger(d) && (d as number) >= 0)) {
      throw badInput(`input "${name}": "shape" must be an array of non-negative integers`);
    }
    const shape = input.shape as number[];
    const size = input.parameters?.binary_data_size;
    if (size !== undefined) {
      if (!Number.isInteger(size) || (size as number) < 0 || at + (size as number) > body.length) {
        throw badInput(`input "${name}": binary_data_size ${JSON.stringify(size)} runs past the end of the body`);
      }
      const bytes = body.subarray(at, at + (size as number));
      at += size as number;
      if (dtype === 'string') return { name, dtype, shape, data: bytesElements(bytes, name) };
      return { name, dtype, shape, b64: bytes.toString('base64') };
    }
    if (input.data === undefined) throw badInput(`input "${name}": "data" or parameters.binary_data_size is required`);
    return { name, dtype, shape, data: flatten(input.data) };
  });
  if (at !== body.length) throw badInput(`${body.length - at} bytes after the last binary input`);

  const binaryOutputs = new Set<string>();
  if (header.parameters?.binary_data_output === true) binaryOutputs.add('*');
  let outputs: string[] | undefined;
  if (header.outputs !== undefined) {
    if (!Array.isArray(header.outputs)) throw badInput('"outputs" must be an array');
    outputs = (header.outputs as RequestedOutput[]).map((o, i) => {
      if (typeof o?.name !== 'string') throw badInput(`outputs[${i}]: "name" is required`);
      if (o.parameters?.binary_data === true) binaryOutputs.add(o.name);
      if (o.parameters?.binary_data === false) binaryOutputs.delete(o.name);
      return o.name;
    });
  }
  const id = typeof header.id === 'string' ? header.id : undefined;
  return { id, inputs, outputs, binaryOutputs };
}

/** A B64 (or string) output as JSON numbers, booleans or strings. */
function jsonData(o: TensorOutputJson): unknown[] {
  if (o.data) return o.data;
  const buf = Buffer.from(o.b64 ?? '', 'base64');
  const view = typedView(
    o.dtype as Exclude<DType, 'string'>,
    buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength),
  );
  if (view instanceof BigInt64Array) {
    // Numbers while exact; beyond 2^53, decimal strings (JSON numbers would lose digits).
    return Array.from(view, (v) =>
      v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(v) : v.toString(),
    );
  }
  if (o.dtype === 'bool') return Array.from(view, (v) => v !== 0);
  return Array.from(view, (v) => (Number.isFinite(v) ? v : String(v)));
}

function binaryData(o: TensorOutputJson): Buffer {
  if (o.dtype !== 'string') return Buffer.from(o.b64 ?? '', 'base64');
  const parts = (o.data as string[]).flatMap((s) => {
    const bytes = Buffer.from(s, 'utf8');
    const len = Buffer.alloc(4);
    len.writeUInt32LE(bytes.length);
    return [len, bytes];
  });
  return Buffer.concat(parts);
}

/**
 * The infer response: JSON alone, or (when any output is binary) the JSON header followed by those
 * outputs' bytes, with the header's length for `Inference-Header-Content-Length`.
 */
export function inferResponse(
  request: Pick<InferRequest, 'id' | 'binaryOutputs'>,
  model: { name: string; version: string },
  outputs: readonly TensorOutputJson[],
): { body: Buffer; headerLength?: number } {
  const all = request.binaryOutputs.has('*');
  const binary: Buffer[] = [];
  const described = outputs.map((o) => {
    const base = { name: o.name, datatype: datatypeOf(o.dtype), shape: o.shape };
    if (all || request.binaryOutputs.has(o.name)) {
      const bytes = binaryData(o);
      binary.push(bytes);
      return { ...base, parameters: { binary_data_size: bytes.length } };
    }
    return { ...base, data: jsonData(o) };
  });
  const header = Buffer.from(
    JSON.stringify({
      model_name: model.name,
      model_version: model.version,
      ...(request.id !== undefined ? { id: request.id } : {}),
      outputs: described,
    }),
  );
  if (binary.length === 0) return { body: header };
  return { body: Buffer.concat([header, ...binary]), headerLength: header.length };
}
