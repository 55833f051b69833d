import { createHash } from 'node:crypto';
import { mkdir, rm, stat, writeFile, rename } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';

/**
 * Where model files live. The local folder is the default; an S3-compatible store can implement
 * the same interface (keys are opaque, `/`-separated, and never user-supplied paths).
 */
export interface ModelStorage {
  /** Stores bytes under a key atomically (readers never see a partial file). */
  putBytes(key: string, bytes: Uint8Array): Promise<{ sizeBytes: number; sha256: string }>;
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
