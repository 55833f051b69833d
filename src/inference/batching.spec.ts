import { batchAxis, compatibilityKey, concatBatch, splitBatch } from './batching.js';
import type { WireTensor } from './tensor-types.js';

const f32 = (name: string, dims: number[], values: number[]): WireTensor => ({
  name,
  dtype: 'float32',
  dims,
  data: new Float32Array(values).buffer,
});
const values = (t: WireTensor) => [...new Float32Array(t.data as ArrayBuffer)];

describe('batching', () => {
  it('finds the shared symbolic leading dim, and only that', () => {
    const spec = (name: string, ...shape: string[]) => ({ name, dtype: 'float32', shape });
    expect(batchAxis([spec('x', 'batch', '4')], [spec('y', 'batch', '2')])).toBe('batch');
    expect(batchAxis([spec('x', 'batch', '4'), spec('k', 'n', '4')], [spec('y', 'batch')])).toBeUndefined();
    expect(batchAxis([spec('x', 'batch', '4')], [spec('y', '2', '3')])).toBeUndefined();
    expect(batchAxis([spec('x', '?', '4')], [spec('y', '?', '4')])).toBeUndefined();
    expect(batchAxis([spec('x', '1', '4')], [spec('y', '1', '4')])).toBeUndefined();
  });

  it('concatenates along dim 0 and splits back to the same rows', () => {
    const a = [f32('x', [1, 2], [1, 2]), { name: 's', dtype: 'string' as const, dims: [1], data: ['a'] }];
    const b = [f32('x', [2, 2], [3, 4, 5, 6]), { name: 's', dtype: 'string' as const, dims: [2], data: ['b', 'c'] }];
    expect(compatibilityKey(a)).toBe(compatibilityKey(b));
    expect(compatibilityKey(a)).not.toBe(compatibilityKey([f32('x', [1, 3], [1, 2, 3]), a[1]]));
    const batch = concatBatch([a, b]);
    expect(batch[0].dims).toEqual([3, 2]);
    expect(values(batch[0])).toEqual([1, 2, 3, 4, 5, 6]);
    expect(batch[1].data).toEqual(['a', 'b', 'c']);
    const [back1, back2] = splitBatch(batch, [1, 2]);
    expect(back1[0].dims).toEqual([1, 2]);
    expect(values(back1[0])).toEqual([1, 2]);
    expect(values(back2[0])).toEqual([3, 4, 5, 6]);
    expect(back2[1].data).toEqual(['b', 'c']);
  });

  it('refuses to split outputs whose first dim is not the batch', () => {
    expect(() => splitBatch([f32('y', [2, 1], [1, 2])], [1, 2])).toThrow(/has 2 rows for a batch of 3/);
  });
});
