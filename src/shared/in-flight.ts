/**
 * One read per key at a time: while `start()` for `key` is in flight, later callers get the same
 * promise instead of sending their own read; the entry goes when it settles (so a failure is not
 * kept, and the next caller reads afresh). For reads whose answer is as good for a caller that
 * arrives during the round trip as for the one that started it.
 */
export function shareInFlight<T>(reads: Map<string, Promise<T>>, key: string, start: () => Promise<T>): Promise<T> {
  let read = reads.get(key);
  if (!read) {
    read = start().finally(() => reads.delete(key));
    reads.set(key, read);
  }
  return read;
}
