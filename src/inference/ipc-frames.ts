// Length-prefixed binary frames between the pool and its sandbox processes, over a pipe. A frame
// is a small JSON header (message type, ids, tensor names, dtypes and dims) followed by the
// tensors' raw bytes: tensor data is never turned into JSON or base64.
//
//   u32 LE  body length (header + payload)
//   u32 LE  header length
//   header  UTF-8 JSON: the message, with `tensors` replaced by [name, dtype, dims, bytes][]
//   payload each tensor's bytes in order; a string tensor is, per element, u32 LE length + UTF-8
import { BYTES_PER_ELEMENT, elementCount, isDType, type DType, type WireTensor } from './tensor-types.js';

export type FrameHeader = { type: string } & Record<string, unknown>;
export type Frame = { header: FrameHeader; tensors: WireTensor[] };

type TensorMeta = [name: string, dtype: DType, dims: number[], bytes: number];

const PREFIX_BYTES = 8;

/** The buffers of one frame, to be written in order (the tensors' bytes are not copied). */
export function encodeFrame(header: FrameHeader, tensors: readonly WireTensor[] = []): Buffer[] {
  const payload: Buffer[] = [];
  const meta: TensorMeta[] = [];
  let payloadBytes = 0;
  for (const t of tensors) {
    const bytes = Array.isArray(t.data) ? encodeStrings(t.data) : Buffer.from(t.data);
    meta.push([t.name, t.dtype, t.dims, bytes.byteLength]);
    payload.push(bytes);
    payloadBytes += bytes.byteLength;
  }
  const json = Buffer.from(JSON.stringify(meta.length ? { ...header, tensors: meta } : header), 'utf8');
  const prefix = Buffer.allocUnsafe(PREFIX_BYTES + json.byteLength);
  prefix.writeUInt32LE(4 + json.byteLength + payloadBytes, 0);
  prefix.writeUInt32LE(json.byteLength, 4);
  json.copy(prefix, PREFIX_BYTES);
  return [prefix, ...payload];
}

function encodeStrings(values: readonly string[]): Buffer {
  const parts = values.map((s) => Buffer.from(s, 'utf8'));
  const out = Buffer.allocUnsafe(parts.reduce((n, p) => n + 4 + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.writeUInt32LE(p.byteLength, at);
    p.copy(out, at + 4);
    at += 4 + p.byteLength;
  }
  return out;
}

/** A frame that breaks the format (or its size bound): the other side is not to be trusted. */
export class FrameError extends Error {
  override readonly name = 'FrameError';
}

/**
 * Reassembles frames from a byte stream. A frame longer than `maxFrameBytes` is refused as soon
 * as its length is read, before anything is buffered for it.
 */
export class FrameReader {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private need = -1;

  constructor(
    private readonly maxFrameBytes: number,
    private readonly onFrame: (frame: Frame) => void,
  ) {}

  /** @throws FrameError when the stream holds something that is not a valid frame. */
  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.buffered += chunk.byteLength;
    for (;;) {
      if (this.need < 0) {
        if (this.buffered < 4) return;
        const head = this.take(4, false);
        this.need = head.readUInt32LE(0);
        if (this.need < 4 || this.need > this.maxFrameBytes) {
          throw new FrameError(`frame of ${this.need} bytes (the bound is ${this.maxFrameBytes})`);
        }
        this.take(4, true);
      }
      if (this.buffered < this.need) return;
      const body = this.take(this.need, true);
      this.need = -1;
      this.onFrame(decodeBody(body));
    }
  }

  // The first n buffered bytes as one Buffer (a view when they lie in one chunk); consumed or not.
  private take(n: number, consume: boolean): Buffer {
    let out: Buffer;
    if (this.chunks[0].byteLength >= n) out = this.chunks[0].subarray(0, n);
    else {
      out = Buffer.allocUnsafe(n);
      let at = 0;
      for (const c of this.chunks) {
        const k = Math.min(c.byteLength, n - at);
        c.copy(out, at, 0, k);
        at += k;
        if (at === n) break;
      }
    }
    if (!consume) return out;
    let left = n;
    while (left > 0) {
      const c = this.chunks[0];
      if (c.byteLength <= left) {
        this.chunks.shift();
        left -= c.byteLength;
      } else {
        this.chunks[0] = c.subarray(left);
        left = 0;
      }
    }
    this.buffered -= n;
    return out;
  }
}

function decodeBody(body: Buffer): Frame {
  const headerBytes = body.readUInt32LE(0);
  if (headerBytes > body.byteLength - 4) throw new FrameError('frame header longer than its frame');
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8', 4, 4 + headerBytes));
  } catch {
    throw new FrameError('frame header is not JSON');
  }
  if (!parsed || typeof parsed !== 'object' || typeof (parsed as FrameHeader).type !== 'string') {
    throw new FrameError('frame header without a type');
  }
  const { tensors: meta, ...header } = parsed as FrameHeader & { tensors?: unknown };
  const tensors: WireTensor[] = [];
  let at = 4 + headerBytes;
  for (const m of Array.isArray(meta) ? (meta as unknown[]) : []) {
    const [name, dtype, dims, bytes] = m as TensorMeta;
    if (typeof name !== 'string' || typeof dtype !== 'string' || !isDType(dtype) || !Array.isArray(dims)) {
      throw new FrameError('bad tensor description in frame header');
    }
    if (!Number.isSafeInteger(bytes) || bytes < 0 || at + bytes > body.byteLength) {
      throw new FrameError('tensor runs past the end of its frame');
    }
    const slice = body.subarray(at, at + bytes);
    at += bytes;
    if (dtype === 'string') tensors.push({ name, dtype, dims, data: decodeStrings(slice) });
    else {
      if (bytes !== elementCount(dims) * BYTES_PER_ELEMENT[dtype]) {
        throw new FrameError(`tensor "${name}" has ${bytes} bytes for dims [${dims.join(', ')}]`);
      }
      // A copy of its own: aligned for typed arrays, and independent of the frame's buffer.
      const data = new ArrayBuffer(bytes);
      new Uint8Array(data).set(slice);
      tensors.push({ name, dtype, dims, data });
    }
  }
  return { header, tensors };
}

function decodeStrings(bytes: Buffer): string[] {
  const out: string[] = [];
  for (let at = 0; at < bytes.byteLength;) {
    if (at + 4 > bytes.byteLength) throw new FrameError('truncated string tensor');
    const n = bytes.readUInt32LE(at);
    if (at + 4 + n > bytes.byteLength) throw new FrameError('truncated string tensor');
    out.push(bytes.toString('utf8', at + 4, at + 4 + n));
    at += 4 + n;
  }
  return out;
}
