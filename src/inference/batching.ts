// Dynamic batching's pure half: which versions can be batched, which requests can share a batch,
// and how tensors are concatenated along the leading dimension and split back. Row-major layout
// makes both a byte copy: the rows of a [n, …] tensor are consecutive.
import type { SignatureSpec } from './tensor-validation.js';
import type { WireTensor } from './tensor-types.js';

export type BatchingSettings = { enabled: boolean; maxBatchSize: number; maxQueueDelayMs: number };

/**
 * The symbolic name every input and output starts with, when there is one: only then can
 * requests be stacked along it and the outputs cut back into each request's rows. A "?" (an
 * unnamed dynamic dim) does not count: nothing says the outputs' first dim is the same one.
 */
export function batchAxis(inputs: readonly SignatureSpec[], outputs: readonly SignatureSpec[]): string | undefined {
  const first = inputs[0]?.shape[0];
  if (first === undefined || first === '?' || first === '' || /^\d+$/.test(first)) return undefined;
  const all = [...inputs, ...outputs];
  return all.every((s) => s.shape.length > 0 && s.shape[0] === first) ? first : undefined;
}

/** Requests share a batch only when every input has the same dims after the first. */
export function compatibilityKey(tensors: readonly WireTensor[]): string {
  return tensors.map((t) => t.dims.slice(1).join('x')).join('|');
}

/** Stacks the requests' tensors (each list in signature order) along dim 0. */
export function concatBatch(requests: readonly (readonly WireTensor[])[]): WireTensor[] {
  const first = requests[0];
  return first.map((t, i) => {
    const parts = requests.map((r) => r[i]);
    const rows = parts.reduce((n, p) => n + p.dims[0], 0);
    const dims = [rows, ...t.dims.slice(1)];
    if (Array.isArray(t.data))
      return { name: t.name, dtype: t.dtype, dims, data: parts.flatMap((p) => p.data as string[]) };
    const total = parts.reduce((n, p) => n + (p.data as ArrayBuffer).byteLength, 0);
    const out = new Uint8Array(total);
    let offset = 0;
    for (const p of parts) {
      out.set(new Uint8Array(p.data as ArrayBuffer), offset);
      offset += (p.data as ArrayBuffer).byteLength;
    }
    return { name: t.name, dtype: t.dtype, dims, data: out.buffer };
  });
}

/**
 * Cuts a batch's outputs back into one list per request, `rows[i]` rows each.
 *
 * @throws Error when an output's first dim is not the batch's total rows (the model broke the
 *   contract its signature promised); the pool then fails the batch rather than guess.
 */
export function splitBatch(outputs: readonly WireTensor[], rows: readonly number[]): WireTensor[][] {
  const total = rows.reduce((a, b) => a + b, 0);
  for (const o of outputs) {
    if (o.dims[0] !== total) {
      throw new Error(`output "${o.name}" has ${o.dims[0]} rows for a batch of ${total}; cannot split it`);
    }
  }
  let start = 0;
  return rows.map((n) => {
    const end = start + n;
    const part = outputs.map((o): WireTensor => {
      const dims = [n, ...o.dims.slice(1)];
      if (Array.isArray(o.data)) {
        const per = total === 0 ? 0 : o.data.length / total;
        return { name: o.name, dtype: o.dtype, dims, data: o.data.slice(start * per, end * per) };
      }
      const per = total === 0 ? 0 : o.data.byteLength / total;
      return { name: o.name, dtype: o.dtype, dims, data: o.data.slice(start * per, end * per) };
    });
    start = end;
    return part;
  });
}
