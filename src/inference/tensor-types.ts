// The tensors that travel between the API thread and the inference workers. Numeric tensors are
// one ArrayBuffer of little-endian bytes (moved with postMessage's transfer list, never copied or
// turned into JSON); string tensors are a string[] (structured clone; onnxruntime wants strings).

/** Element types the marketplace accepts, named as onnxruntime names them (`Tensor.Type`). */
export const DTYPES = ['float32', 'float64', 'int32', 'int64', 'uint8', 'int8', 'bool', 'string'] as const;
export type DType = (typeof DTYPES)[number];

/** Bytes per element of the numeric dtypes (bool is one byte, as onnxruntime stores it). */
export const BYTES_PER_ELEMENT: Record<Exclude<DType, 'string'>, number> = {
  float32: 4,
  float64: 8,
  int32: 4,
  int64: 8,
  uint8: 1,
  int8: 1,
  bool: 1,
};

export const isDType = (value: string): value is DType => (DTYPES as readonly string[]).includes(value);

/** One tensor on the wire: `data` is the raw bytes, or the strings for dtype `string`. */
export type WireTensor = {
  name: string;
  dtype: DType;
  dims: number[];
  data: ArrayBuffer | string[];
};

export const elementCount = (dims: readonly number[]) => dims.reduce((n, d) => n * d, 1);

/** Size in bytes of a tensor's payload (strings counted as their UTF-8 length). */
export function tensorBytes(t: WireTensor): number {
  if (Array.isArray(t.data)) return t.data.reduce((n, s) => n + Buffer.byteLength(s, 'utf8'), 0);
  return t.data.byteLength;
}
