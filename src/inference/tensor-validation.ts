// Checks a request's tensors against the version's stored signature (ModelVersion.inputs) before
// anything is queued or run, and decodes them. Every mismatch is a BAD_USER_INPUT that names the
// input and says what was expected, so a client can fix its request without reading the model.
import { badInput } from '../shared/errors.js';
import { tensorsTooLarge } from './request-size.js';
import { decodeB64Data, decodeJsonData, type TensorInputLike } from './tensor-codec.js';
import { BYTES_PER_ELEMENT, DTYPES, elementCount, isDType, type WireTensor } from './tensor-types.js';

/** A signature entry as stored: fixed dims as "16", symbolic ones by name, unknown as "?". */
export type SignatureSpec = { name: string; dtype: string; shape: readonly string[] };

export type TensorLimits = {
  /** Largest total payload of one request's inputs, in bytes (strings: UTF-8 bytes). */
  maxRequestBytes: number;
  /** Largest rank accepted (onnxruntime itself has no small limit; this bounds the work). */
  maxRank?: number;
};

const FIXED = /^\d+$/;

/**
 * Validates `inputs` against `signature` and returns the decoded tensors in signature order,
 * with the values each symbolic dimension was bound to.
 *
 * @throws AppError BAD_USER_INPUT on any mismatch; PAYLOAD_TOO_LARGE over `maxRequestBytes`.
 */
export function validateAndDecodeInputs(
  inputs: readonly TensorInputLike[],
  signature: readonly SignatureSpec[],
  limits: TensorLimits,
): { tensors: WireTensor[]; bindings: Record<string, number> } {
  const byName = new Map<string, TensorInputLike>();
  for (const input of inputs) {
    if (byName.has(input.name)) throw badInput(`input "${input.name}" is given twice`, { input: input.name });
    byName.set(input.name, input);
  }
  const expected = signature.map((s) => s.name);
  const missing = expected.filter((n) => !byName.has(n));
  const extra = [...byName.keys()].filter((n) => !expected.includes(n));
  if (missing.length || extra.length) {
    const parts = [
      missing.length ? `missing input${missing.length > 1 ? 's' : ''} ${missing.map((n) => `"${n}"`).join(', ')}` : '',
      extra.length ? `unknown input${extra.length > 1 ? 's' : ''} ${extra.map((n) => `"${n}"`).join(', ')}` : '',
    ].filter(Boolean);
    throw badInput(`${parts.join('; ')}: the model takes ${describeSignature(signature)}`, { missing, extra });
  }

  // Shapes first, for every input, so that nothing is decoded (or allocated) for a request that
  // is wrong or too large.
  const bindings: Record<string, number> = {};
  const boundBy: Record<string, string> = {};
  let totalBytes = 0;
  const maxRank = limits.maxRank ?? 16;
  for (const spec of signature) {
    const input = byName.get(spec.name)!;
    const where = `input "${spec.name}"`;
    if (!isDType(input.dtype)) {
      throw badInput(`${where}: unknown dtype "${input.dtype}"; one of ${DTYPES.join(', ')}`, { input: spec.name });
    }
    if (input.dtype !== spec.dtype) {
      throw badInput(`${where}: dtype ${input.dtype} given, the model expects ${spec.dtype}`, {
        input: spec.name,
        expected: spec.dtype,
      });
    }
    const shape = input.shape;
    if (shape.length > maxRank || shape.length !== spec.shape.length) {
      throw badInput(
        `${where}: shape [${shape.join(', ')}] has rank ${shape.length}, the model expects [${spec.shape.join(', ')}]`,
        { input: spec.name, expected: spec.shape },
      );
    }
    shape.forEach((dim, axis) => {
      const want = spec.shape[axis];
      if (!Number.isSafeInteger(dim) || dim < 1) {
        throw badInput(`${where}: dimension ${axis} is ${dim}; every dimension must be a positive integer`, {
          input: spec.name,
        });
      }
      if (FIXED.test(want)) {
        if (dim !== Number(want)) {
          throw badInput(
            `${where}: dimension ${axis} is ${dim}, the model expects ${want} (shape [${spec.shape.join(', ')}])`,
            { input: spec.name, expected: spec.shape },
          );
        }
      } else if (want !== '?' && want !== '') {
        const bound = bindings[want];
        if (bound === undefined) {
          bindings[want] = dim;
          boundBy[want] = spec.name;
        } else if (bound !== dim) {
          throw badInput(
            `${where}: dimension ${axis} ("${want}") is ${dim}, but input "${boundBy[want]}" set "${want}" to ${bound}; they must agree`,
            { input: spec.name, dimension: want },
          );
        }
      }
    });
    const count = elementCount(shape);
    if (input.dtype !== 'string') totalBytes += count * BYTES_PER_ELEMENT[input.dtype];
    else if (Array.isArray(input.data)) {
      for (const s of input.data) totalBytes += typeof s === 'string' ? Buffer.byteLength(s, 'utf8') : 0;
    }
    if (totalBytes > limits.maxRequestBytes) {
      throw tensorsTooLarge(limits.maxRequestBytes, where);
    }
    const hasData = input.data !== undefined && input.data !== null;
    const hasB64 = input.b64 !== undefined && input.b64 !== null;
    if (hasData === hasB64) throw badInput(`${where}: give exactly one of data and b64`, { input: spec.name });
  }

  const tensors = signature.map((spec): WireTensor => {
    const input = byName.get(spec.name)!;
    const dtype = spec.dtype as WireTensor['dtype'];
    const count = elementCount(input.shape);
    const data =
      input.b64 !== undefined && input.b64 !== null
        ? decodeB64Data(spec.name, dtype, count, input.b64)
        : decodeJsonData(spec.name, dtype, count, input.data);
    return { name: spec.name, dtype, dims: [...input.shape], data };
  });
  return { tensors, bindings };
}

function describeSignature(signature: readonly SignatureSpec[]): string {
  return signature.map((s) => `${s.name} (${s.dtype} [${s.shape.join(', ')}])`).join(', ');
}
