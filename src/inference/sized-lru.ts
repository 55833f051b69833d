/**
 * A least-recently-used map bounded both by entry count and by total size. Each worker keeps its
 * onnxruntime sessions in one: a few big models must not crowd memory any more than many small
 * ones. A Map iterates in insertion order, so re-inserting on use makes its first key the least
 * recently used one.
 */
export class SizedLru<V> {
  private readonly entries = new Map<string, { value: V; bytes: number }>();
  private total = 0;

  constructor(
    private readonly limits: { maxEntries: number; maxBytes: number },
    private readonly onEvict: (key: string, value: V) => void,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  get bytes(): number {
    return this.total;
  }

  keys(): string[] {
    return [...this.entries.keys()];
  }

  get(key: string): V | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    this.entries.delete(key);
    this.entries.set(key, entry);
    return entry.value;
  }

  /**
   * Adds an entry, evicting the least recently used ones until both limits hold. An entry larger
   * than `maxBytes` on its own is still kept (alone): refusing it would make the model unusable.
   */
  set(key: string, value: V, bytes: number): void {
    this.delete(key);
    this.entries.set(key, { value, bytes });
    this.total += bytes;
    for (const [k, e] of this.entries) {
      if (this.entries.size <= 1) break;
      if (this.entries.size <= this.limits.maxEntries && this.total <= this.limits.maxBytes) break;
      if (k === key) continue;
      this.entries.delete(k);
      this.total -= e.bytes;
      this.onEvict(k, e.value);
    }
  }

  delete(key: string): boolean {
    const entry = this.entries.get(key);
    if (!entry) return false;
    this.entries.delete(key);
    this.total -= entry.bytes;
    this.onEvict(key, entry.value);
    return true;
  }

  clear(): void {
    for (const key of [...this.entries.keys()]) this.delete(key);
  }
}
