import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rm, stat, writeFile, rename } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/** Thrown by `putStream` when the stream carries more than `maxBytes`; nothing is kept. */
export class StoredFileTooLargeError extends Error {
  override readonly name = 'StoredFileTooLargeError';
  constructor(readonly maxBytes: number) {
    super(`file exceeds the ${maxBytes} byte limit`);
  }
}

/**
 * Where model files live. The local folder is the default; an S3-compatible store can implement
 * the same interface (keys are opaque, `/`-separated, and never user-supplied paths).
 */
export interface ModelStorage {
  /** Stores bytes under a key atomically (readers never see a partial file). */
  putBytes(key: string, bytes: Uint8Array): Promise<{ sizeBytes: number; sha256: string }>;
  /**
   * Streams a file under a key while hashing it, without holding it in memory. Atomic like
   * `putBytes`; if the stream fails (or passes `maxBytes`) nothing is left behind and the
   * stream's error (or StoredFileTooLargeError) is thrown.
   */
  putStream(
    key: string,
    stream: Readable,
    options?: { maxBytes?: number },
  ): Promise<{ sizeBytes: number; sha256: string }>;
  /** A local path onnxruntime can open (a cache copy for remote stores). */
  localPath(key: string): Promise<string>;
  exists(key: string): Promise<boolean>;
  delete(key: string): Promise<void>;
}

const KEY = /^[A-Za-z0-9][A-Za-z0-9._-]*(\/[A-Za-z0-9][A-Za-z0-9._-]*)*$/;

export class LocalModelStorage implements ModelStorage {
  private readonly root: string;

  constructor(root: string) {
    this.root = resolve(root);
  }

  /** Maps a key to a path inside the root, refusing anything that could escape it. */
  private pathOf(key: string): string {
    if (!KEY.test(key) || key.includes('..')) throw new Error(`invalid storage key: ${key}`);
    const path = resolve(join(this.root, key));
    if (!path.startsWith(this.root + sep)) throw new Error(`invalid storage key: ${key}`);
    return path;
  }

  async putBytes(key: string, bytes: Uint8Array) {
    const path = this.pathOf(key);
    await mkdir(dirname(path), { recursive: true });
    const tmp = `${path}.${process.pid}.${Date.now()}.partial`;
    await writeFile(tmp, bytes);
    await rename(tmp, path);
    return { sizeBytes: bytes.byteLength, sha256: createHash('sha256').update(bytes).digest('hex') };
  }

  async putStream(key: string, stream: Readable, options: { maxBytes?: number } = {}) {
    // Until pipeline() takes the stream below, an error it emits (an upload cut short or over
    // its limit while the folders are made) has no other listener and would crash the process.
    // pipeline() still sees it: it rejects with the error of a stream already errored.
    const ignoreEarlyError = () => undefined;
    stream.on('error', ignoreEarlyError);
    const path = this.pathOf(key);
    // The temporary file sits inside the root (same file system), so the final rename is atomic;
    // a reader of `key` sees the whole file or none.
    const tmpDir = join(this.root, '.partial');
    await mkdir(tmpDir, { recursive: true });
    await mkdir(dirname(path), { recursive: true });
    const tmp = join(tmpDir, `${randomUUID()}.partial`);
    const hash = createHash('sha256');
    const maxBytes = options.maxBytes ?? Number.POSITIVE_INFINITY;
    let sizeBytes = 0;
    const meter = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        sizeBytes += chunk.length;
        if (sizeBytes > maxBytes) return callback(new StoredFileTooLargeError(maxBytes));
        hash.update(chunk);
        callback(null, chunk);
      },
    });
    try {
      // pipeline() destroys every stage when one fails (the source's `error` event included),
      // so an aborted upload never leaves a dangling write stream or an unhandled error.
      await pipeline(stream, meter, createWriteStream(tmp, { flags: 'wx', mode: 0o640 }));
      await rename(tmp, path);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    } finally {
      stream.off('error', ignoreEarlyError);
    }
    return { sizeBytes, sha256: hash.digest('hex') };
  }

  async localPath(key: string): Promise<string> {
    return this.pathOf(key);
  }

  async exists(key: string): Promise<boolean> {
    try {
      await stat(this.pathOf(key));
      return true;
    } catch {
      return false;
    }
  }

  async delete(key: string): Promise<void> {
    await rm(this.pathOf(key), { force: true });
  }
}
