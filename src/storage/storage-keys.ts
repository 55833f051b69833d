import { createHash } from 'node:crypto';
import { join, resolve, sep } from 'node:path';
import { Transform } from 'node:stream';

/** Thrown by `putStream` when the stream carries more than `maxBytes`; nothing is kept. */
export class StoredFileTooLargeError extends Error {
  override readonly name = 'StoredFileTooLargeError';
  constructor(readonly maxBytes: number) {
    super(`file exceeds the ${maxBytes} byte limit`);
  }
}

const KEY = /^[A-Za-z0-9][A-Za-z0-9._-]*(\/[A-Za-z0-9][A-Za-z0-9._-]*)*$/;

/** Refuses a key that is not opaque `/`-separated names (never `..`, never absolute). */
export function checkKey(key: string): string {
  if (!KEY.test(key) || key.includes('..')) throw new Error(`invalid storage key: ${key}`);
  return key;
}

/** A key's path inside `root` (an absolute folder), refusing anything that could escape it. */
export function pathInside(root: string, key: string): string {
  const path = resolve(join(root, checkKey(key)));
  if (!path.startsWith(root + sep)) throw new Error(`invalid storage key: ${key}`);
  return path;
}

/**
 * A pass-through that counts and hashes what flows through it, failing with
 * StoredFileTooLargeError past `maxBytes`: what every store puts a stream through.
 */
export function meteredHash(maxBytes = Number.POSITIVE_INFINITY) {
  const hash = createHash('sha256');
  const result = { sizeBytes: 0, sha256: () => hash.digest('hex') };
  const stream = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      result.sizeBytes += chunk.length;
      if (result.sizeBytes > maxBytes) return callback(new StoredFileTooLargeError(maxBytes));
      hash.update(chunk);
      callback(null, chunk);
    },
  });
  return { stream, result };
}
