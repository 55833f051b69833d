// Reads an uploaded model's inputs and outputs by loading it in onnxruntime, the same runtime
// that will serve it: a model that loads here is one the workers can open, and one that does not
// is rejected at upload with a reason the publisher can act on.
import { open } from 'node:fs/promises';
import { InferenceSession } from 'onnxruntime-node';
import { cleanRuntimeMessage, RUNTIME_MESSAGE_SCAN_CHARS, type CleanOptions } from './runtime-message.js';

/** One input or output: dims are "16" for fixed sizes, the name for symbolic ones, "?" if unknown. */
export type TensorSpec = { name: string; dtype: string; shape: string[] };

export type ModelSignature = { inputs: TensorSpec[]; outputs: TensorSpec[] };

/** Why a model was rejected; stable codes for callers, unlike onnxruntime's messages. */
export const InvalidModelCode = {
  NOT_ONNX: 'NOT_ONNX',
  CORRUPT: 'CORRUPT',
  UNSUPPORTED_IR_VERSION: 'UNSUPPORTED_IR_VERSION',
  UNSUPPORTED_OPSET: 'UNSUPPORTED_OPSET',
  UNSUPPORTED_OPERATOR: 'UNSUPPORTED_OPERATOR',
  INVALID_GRAPH: 'INVALID_GRAPH',
  UNSUPPORTED_IO: 'UNSUPPORTED_IO',
  /** Loading it and running it once on its smallest inputs took more time or memory than allowed. */
  MODEL_TOO_EXPENSIVE: 'MODEL_TOO_EXPENSIVE',
  /** The runtime process died loading it (a native crash). */
  RUNTIME_CRASH: 'RUNTIME_CRASH',
  UNKNOWN: 'UNKNOWN',
} as const;
export type InvalidModelCode = (typeof InvalidModelCode)[keyof typeof InvalidModelCode];

/** The model's bytes do not load in onnxruntime (or it has inputs the marketplace cannot feed). */
export class InvalidModelError extends Error {
  override readonly name = 'InvalidModelError';

  constructor(
    readonly code: InvalidModelCode,
    /** What is wrong, in words a publisher can act on (stored as the version's status reason). */
    readonly reason: string,
    /** onnxruntime's own message, for logs and support; may be long and mention C++ internals. */
    readonly detail: string,
  ) {
    super(`Invalid model: ${reason}`);
  }
}

/**
 * Loads a model (a file path or its bytes) in onnxruntime and returns its input and output
 * signature; the session is released before returning.
 *
 * @throws InvalidModelError when the bytes are not a model onnxruntime can load. Other errors (a
 *   missing file, for instance) are the caller's and pass through unchanged.
 */
export async function readModelSignature(source: string | Uint8Array): Promise<ModelSignature> {
  let session: InferenceSession;
  try {
    // Warnings (old opsets, optimizer notes) would go to stderr on every upload; errors still
    // reach us as the rejected promise.
    const options: InferenceSession.SessionOptions = { logSeverityLevel: 3 };
    session =
      typeof source === 'string'
        ? await InferenceSession.create(source, options)
        : await InferenceSession.create(source, options);
  } catch (err) {
    const detail = err instanceof Error ? err.message : String(err);
    const head = typeof source === 'string' ? await readHead(source) : source.subarray(0, HEAD_BYTES);
    throw classifyLoadError(detail, head);
  }
  try {
    return signatureOf(session);
  } finally {
    await session.release();
  }
}

/** @throws InvalidModelError when an input or output is not a tensor. */
export function signatureOf(session: InferenceSession): ModelSignature {
  return {
    inputs: session.inputMetadata.map((m) => toTensorSpec(m, 'input')),
    outputs: session.outputMetadata.map((m) => toTensorSpec(m, 'output')),
  };
}

function toTensorSpec(meta: InferenceSession.ValueMetadata, kind: 'input' | 'output'): TensorSpec {
  if (!meta.isTensor) {
    const reason = `${kind} "${meta.name}" is not a tensor (a sequence, map or optional); only tensor inputs and outputs are supported`;
    throw new InvalidModelError(InvalidModelCode.UNSUPPORTED_IO, reason, reason);
  }
  return {
    name: meta.name,
    dtype: meta.type,
    // onnxruntime reports an unnamed dynamic dim as "" (and, we have seen, never -1; mapped anyway).
    shape: meta.shape.map((d) => (typeof d === 'number' ? (d < 0 ? '?' : String(d)) : d === '' ? '?' : d)),
  };
}

const HEAD_BYTES = 16;

// Only read on failure, and only the first bytes: the file may be gigabytes. A missing or
// unreadable file is not an invalid model, so that error is thrown as it is.
export async function readHead(path: string): Promise<Uint8Array> {
  const file = await open(path, 'r');
  try {
    const buf = new Uint8Array(HEAD_BYTES);
    const { bytesRead } = await file.read(buf, 0, HEAD_BYTES, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await file.close();
  }
}

/**
 * Maps onnxruntime's load error to a reason. onnxruntime has no error codes here, only messages,
 * so this matches on phrases seen from onnxruntime 1.30; anything unmatched is UNKNOWN, with the
 * original message as the reason's tail so the publisher still sees something specific.
 */
export function classifyLoadError(
  fullDetail: string,
  head: Uint8Array,
  /** Server paths to replace in what is kept (before long words are shortened, so none leaks). */
  replace: CleanOptions['replace'] = [],
): InvalidModelError {
  // The text may be the model's own (a 60,000-character path): everything below reads a bounded
  // prefix, and what is kept is cleaned in linear time (runtime-message.ts).
  const detail = fullDetail.slice(0, RUNTIME_MESSAGE_SCAN_CHARS);
  const err = (code: InvalidModelCode, reason: string) =>
    new InvalidModelError(code, reason, cleanRuntimeMessage(detail, { firstLineOnly: false, maxChars: 2000, replace }));
  const clean = (text: string) => cleanRuntimeMessage(text, { replace });

  if (head.length === 0 || /data pointer is null|model data is empty/i.test(detail)) {
    return err(InvalidModelCode.NOT_ONNX, 'not an ONNX file: the file is empty');
  }
  if (/protobuf parsing failed/i.test(detail)) {
    const other = recognizeOtherFormat(head);
    if (other)
      return err(InvalidModelCode.NOT_ONNX, `not an ONNX file: it looks like ${other}; export the model to ONNX first`);
    if (looksLikeOnnxHeader(head)) {
      return err(
        InvalidModelCode.CORRUPT,
        'corrupt or truncated ONNX file: it starts like one but does not parse (or nests subgraphs deeper than the runtime reads); upload it again',
      );
    }
    return err(InvalidModelCode.NOT_ONNX, 'not an ONNX file: it is not an ONNX protobuf (ModelProto)');
  }
  const ir = /Unsupported model IR version: (\d+), max supported IR version: (\d+)/i.exec(detail);
  if (ir) {
    return err(
      InvalidModelCode.UNSUPPORTED_IR_VERSION,
      `unsupported IR version ${ir[1]}: the runtime supports up to ${ir[2]}; export with an older onnx version`,
    );
  }
  const opset = /Opset (\d+) is under development.*?support for domain (\S+) is till opset (\d+)/is.exec(detail);
  if (opset) {
    return err(
      InvalidModelCode.UNSUPPORTED_OPSET,
      `unsupported opset ${opset[1]} for ${opset[2]}: the runtime supports up to opset ${opset[3]}; export with a lower opset_version`,
    );
  }
  if (/opset/i.test(detail) && /unsupported|not supported|guarantees/i.test(detail)) {
    return err(
      InvalidModelCode.UNSUPPORTED_OPSET,
      'unsupported opset: export the model with a different opset_version',
    );
  }
  const op = /No Op registered for (\S+) with domain_version of (\d+)/i.exec(detail);
  if (op) {
    return err(
      InvalidModelCode.UNSUPPORTED_OPERATOR,
      `unsupported operator ${op[1]} (opset ${op[2]}): the runtime has no kernel for it; replace the operator or change opset`,
    );
  }
  if (/is not a registered function\/op|Could not find an implementation/i.test(detail)) {
    return err(InvalidModelCode.UNSUPPORTED_OPERATOR, `unsupported operator: ${clean(detail)}`);
  }
  if (/invalid model|Type Error|ShapeInferenceError|does not exist in the graph|Node input/i.test(detail)) {
    return err(InvalidModelCode.INVALID_GRAPH, `invalid graph: ${clean(detail)}`);
  }
  return err(InvalidModelCode.UNKNOWN, `the model does not load: ${clean(detail)}`);
}

// A ModelProto almost always begins with field 1, ir_version (tag byte 0x08), then a small
// varint: that is how onnx, PyTorch and this project's builder write it.
function looksLikeOnnxHeader(head: Uint8Array): boolean {
  return head.length >= 2 && head[0] === 0x08 && head[1] >= 1 && head[1] <= 32;
}

// Formats publishers upload by mistake, by their magic bytes, so the reason can say what to do.
function recognizeOtherFormat(head: Uint8Array): string | undefined {
  const ascii = (from: number, to: number) => String.fromCharCode(...head.subarray(from, to));
  if (ascii(0, 4) === 'PK\x03\x04') return 'a ZIP archive (a PyTorch .pt/.pth checkpoint is one)';
  if (head[0] === 0x80 && head[1] !== undefined && head[1] >= 2 && head[1] <= 5) return 'a Python pickle';
  if (ascii(0, 4) === '\x89HDF') return 'an HDF5 file (a Keras .h5 model)';
  if (ascii(0, 4) === 'GGUF') return 'a GGUF file';
  if (ascii(4, 8) === 'TFL3') return 'a TensorFlow Lite model';
  if (head.length >= 9 && head[8] === 0x7b /* { */ && head[6] === 0 && head[7] === 0) return 'a safetensors file';
  return undefined;
}
