import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rm, stat, writeFile, rename } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { meteredHash, pathInside } from './storage-keys.js';

export { StoredFileTooLargeError } from './storage-keys.js';

/**
 * Where model files, batch files and results live: the local folder (the default) or an
 * S3-compatible bucket (s3-storage.ts). Keys are opaque, `/`-separated, never user-supplied
 * paths, and written once: a key is never overwritten with other bytes, so a copy of it cached
 * anywhere stays true.
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
  /** The stored bytes as a stream (a download served straight from the store). */
  openRead(key: string): Promise<Readable>;
  exists(key: string): Promise<boolean>;
  delete(key: string): Promise<void>;
  /** Releases connections (the S3 client's sockets); the local folder has none. */
  close?(): void;
}

export class LocalModelStorage implements ModelStorage {
  private readonly root: string;

  constructor(root: string) {
    this.root = resolve(root);
  }

  private pathOf(key: string): string {
    return pathInside(this.root, key);
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
    const meter = meteredHash(options.maxBytes);
    try {
      // pipeline() destroys every stage when one fails (the source's `error` event included),
      // so an aborted upload never leaves a dangling write stream or an unhandled error.
      await pipeline(stream, meter.stream, createWriteStream(tmp, { flags: 'wx', mode: 0o640 }));
      await rename(tmp, path);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    } finally {
      stream.off('error', ignoreEarlyError);
    }
    return { sizeBytes: meter.result.sizeBytes, sha256: meter.result.sha256() };
  }

  async localPath(key: string): Promise<string> {
    return this.pathOf(key);
  }

  async openRead(key: string): Promise<Readable> {
    const stream = createReadStream(this.pathOf(key));
    // Opened before it is handed over, so that a missing file fails here, not mid-response.
    await new Promise<void>((resolve, reject) => {
      stream.once('open', () => resolve());
      stream.once('error', reject);
    });
    return stream;
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
