import { SizedLru } from './sized-lru.js';

describe('SizedLru', () => {
  const make = (maxEntries: number, maxBytes: number) => {
    const evicted: string[] = [];
    const lru = new SizedLru<string>({ maxEntries, maxBytes }, (k) => evicted.push(k));
    return { lru, evicted };
  };

  it('evicts the least recently used entry beyond the count limit', () => {
    const { lru, evicted } = make(2, 1000);
    lru.set('a', 'A', 1);
    lru.set('b', 'B', 1);
    lru.get('a');
    lru.set('c', 'C', 1);
    expect(evicted).toEqual(['b']);
    expect(lru.keys()).toEqual(['a', 'c']);
  });

  it('evicts by bytes, as many as needed, and keeps an oversized entry alone', () => {
    const { lru, evicted } = make(10, 100);
    lru.set('a', 'A', 40);
    lru.set('b', 'B', 40);
    lru.set('c', 'C', 50);
    expect(evicted).toEqual(['a']);
    expect(lru.bytes).toBe(90);
    lru.set('huge', 'H', 500);
    expect(evicted).toEqual(['a', 'b', 'c']);
    expect(lru.keys()).toEqual(['huge']);
  });

  it('releases on delete and clear, and replacing a key releases the old value', () => {
    const { lru, evicted } = make(10, 100);
    lru.set('a', 'A', 10);
    lru.set('a', 'A2', 20);
    expect(evicted).toEqual(['a']);
    expect(lru.bytes).toBe(20);
    lru.set('b', 'B', 10);
    lru.clear();
    expect(lru.size).toBe(0);
    expect(lru.bytes).toBe(0);
  });
});
