import { encodeFrame, FrameError, FrameReader, type Frame } from './ipc-frames.js';
import type { WireTensor } from './tensor-types.js';

const f32 = (values: number[], dims = [values.length]): WireTensor => ({
  name: 'x',
  dtype: 'float32',
  dims,
  data: Float32Array.from(values).buffer,
});

function readAll(buffers: Buffer[], chunkBytes: number, max = 1 << 20): Frame[] {
  const frames: Frame[] = [];
  const reader = new FrameReader(max, (f) => frames.push(f));
  const all = Buffer.concat(buffers);
  for (let at = 0; at < all.byteLength; at += chunkBytes) reader.push(all.subarray(at, at + chunkBytes));
  return frames;
}

describe('ipc frames', () => {
  it('round-trips a header and tensors of every kind, however the stream is cut', () => {
    const tensors: WireTensor[] = [
      f32([1.5, -2, Number.NaN], [1, 3]),
      { name: 'i', dtype: 'int64', dims: [2], data: BigInt64Array.from([-(2n ** 63n), 2n ** 63n - 1n]).buffer },
      { name: 'b', dtype: 'bool', dims: [3], data: Uint8Array.from([1, 0, 1]).buffer },
      { name: 's', dtype: 'string', dims: [3], data: ['a', '', 'héllo ✓'] },
      { name: 'e', dtype: 'float32', dims: [0], data: new ArrayBuffer(0) },
    ];
    const frames = [...encodeFrame({ type: 'run', jobId: 7 }, tensors), ...encodeFrame({ type: 'stats', jobId: 8 })];
    for (const chunk of [1, 3, 7, 1 << 16]) {
      const [run, stats] = readAll(frames, chunk);
      expect(run.header).toEqual({ type: 'run', jobId: 7 });
      expect(run.tensors.map((t) => [t.name, t.dtype, t.dims])).toEqual(tensors.map((t) => [t.name, t.dtype, t.dims]));
      expect([...new Float32Array(run.tensors[0].data as ArrayBuffer)]).toEqual([1.5, -2, Number.NaN]);
      expect([...new BigInt64Array(run.tensors[1].data as ArrayBuffer)]).toEqual([-(2n ** 63n), 2n ** 63n - 1n]);
      expect([...new Uint8Array(run.tensors[2].data as ArrayBuffer)]).toEqual([1, 0, 1]);
      expect(run.tensors[3].data).toEqual(['a', '', 'héllo ✓']);
      expect(stats.header).toEqual({ type: 'stats', jobId: 8 });
      expect(stats.tensors).toEqual([]);
    }
  });

  it('refuses a frame over its bound as soon as the length is read', () => {
    const [prefix] = encodeFrame({ type: 'x', pad: 'y'.repeat(100) });
    const reader = new FrameReader(64, () => undefined);
    expect(() => reader.push(prefix.subarray(0, 4))).toThrow(FrameError);
  });

  it('refuses tensors whose bytes do not match their dims, and headers that are not JSON', () => {
    const [prefix, payload] = encodeFrame({ type: 'run' }, [f32([1, 2], [2])]);
    const lying = Buffer.from(prefix.toString('latin1').replace('[2],8', '[3],8'), 'latin1');
    expect(() => readAll([lying, payload], 1024)).toThrow(/has 8 bytes for dims \[3\]/);
    const garbage = Buffer.alloc(12);
    garbage.writeUInt32LE(8, 0);
    garbage.writeUInt32LE(4, 4);
    expect(() => readAll([garbage], 1024)).toThrow(/not JSON/);
  });
});
