import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import type { TensorInputLike } from '../inference/tensor-codec.js';
import { validateAndDecodeInputs, type SignatureSpec, type TensorLimits } from '../inference/tensor-validation.js';
import { AppError, badInput } from '../shared/errors.js';

/**
 * A createBatchPrediction file: JSONL, one prediction per line, each line the `inputs` of a
 * createPrediction — `{"inputs":[{"name":"x","dtype":"float32","shape":[1,4],"data":[…]}]}`
 * (or `b64` instead of `data`). Blank lines are skipped and do not count as rows. A line that is
 * not such an object, or whose tensors do not fit the version's signature, refuses the whole
 * file with its line number, before anything is queued or billed.
 */
/** `row` counts from 0 over non-blank lines; `line` is the file's line number (from 1). */
export type BatchRow = { row: number; line: number; inputs: TensorInputLike[] };

/** The longest line read (a row's tensors as JSON): past it the file is refused, not buffered. */
export const MAX_LINE_BYTES = 64 * 1024 * 1024;

export async function* readBatchRows(stream: Readable): AsyncGenerator<BatchRow> {
  const lines = createInterface({ input: stream, crlfDelay: Infinity });
  let line = 0;
  let row = 0;
  try {
    for await (const text of lines) {
      line++;
      if (text.trim() === '') continue;
      if (text.length > MAX_LINE_BYTES) throw lineError(line, `longer than ${MAX_LINE_BYTES} bytes`);
      yield { row: row++, line, inputs: parseLine(text, line) };
    }
  } finally {
    lines.close();
  }
}

function parseLine(text: string, line: number): TensorInputLike[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw lineError(line, 'not valid JSON');
  }
  const inputs = (value as { inputs?: unknown } | null)?.inputs;
  if (!value || typeof value !== 'object' || Array.isArray(value) || !Array.isArray(inputs) || inputs.length === 0) {
    throw lineError(line, 'expected an object {"inputs": [tensor, …]}');
  }
  return inputs.map((t: unknown, i) => {
    const x = t as Partial<TensorInputLike> | null;
    const ok =
      x !== null &&
      typeof x === 'object' &&
      typeof x.name === 'string' &&
      typeof x.dtype === 'string' &&
      Array.isArray(x.shape) &&
      x.shape.every((d) => Number.isInteger(d)) &&
      (x.b64 === undefined || x.b64 === null || typeof x.b64 === 'string');
    if (!ok) throw lineError(line, `inputs[${i}] needs name, dtype, shape (integers) and data or b64`);
    return { name: x.name!, dtype: x.dtype!, shape: x.shape!, data: x.data, b64: x.b64 ?? undefined };
  });
}

/** Checks a row against the version's signature (as createPrediction does), naming its line. */
export function checkRow(row: BatchRow, signature: readonly SignatureSpec[], limits: TensorLimits): void {
  try {
    validateAndDecodeInputs(row.inputs, signature, limits);
  } catch (err) {
    if (!(err instanceof AppError)) throw err;
    throw new AppError(err.code, `line ${row.line}: ${err.message}`, { ...err.details, field: 'file', line: row.line });
  }
}

const lineError = (line: number, what: string) => badInput(`line ${line}: ${what}`, { field: 'file', line });
