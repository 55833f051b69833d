import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Logger } from '../shared/logger.js';
import { pathInside } from './storage-keys.js';

/** A file opened this recently is never evicted: a session may still be reading it. */
const IN_USE_MS = 60_000;

export type FileCacheOptions = { maxBytes: number; logger?: Pick<Logger, 'warn'>; inUseMs?: number };

type Entry = { path: string; sizeBytes: number; usedAt: number };

/**
 * Local copies of stored files, for the code that needs a path (onnxruntime, the validator's
 * sandbox, a batch file read line by line). Keys are written once (model-storage.ts), so a copy
 * never goes stale. One download per key at a time, however many ask; a download lands in a
 * temporary file renamed into place, so a crash never leaves a partial copy under a key's name.
 * Bounded by `maxBytes`: past it, the copies not opened for longest are removed (never one opened
 * in the last minute, so the bound can be passed briefly by files in use), and fetched again if
 * asked for later. Copies left by an earlier run are found at start and counted.
 */
export class FileCache {
  private readonly root: string;
  private readonly entries = new Map<string, Entry>();
  private readonly fetching = new Map<string, Promise<string>>();
  private readonly loaded: Promise<void>;
  private totalBytes = 0;

  private readonly maxBytes: number;
  private readonly inUseMs: number;
  private readonly logger?: Pick<Logger, 'warn'>;

  constructor(dir: string, options: FileCacheOptions) {
    this.root = resolve(dir);
    this.maxBytes = options.maxBytes;
    this.inUseMs = options.inUseMs ?? IN_USE_MS;
    this.logger = options.logger;
    this.loaded = this.scan();
    // Seen by the first `path()` (which rethrows it), not as an unhandled rejection at start.
    this.loaded.catch(() => undefined);
  }

  /** The copy's path, fetching it with `download` (a stream of its bytes) when absent. */
  async path(key: string, download: () => Promise<{ body: Readable; sizeBytes?: number }>): Promise<string> {
    await this.loaded;
    const hit = this.entries.get(key);
    if (hit) {
      hit.usedAt = Date.now();
      return hit.path;
    }
    let pending = this.fetching.get(key);
    if (!pending) {
      pending = this.fetch(key, download).finally(() => this.fetching.delete(key));
      this.fetching.set(key, pending);
    }
    return pending;
  }

  async remove(key: string): Promise<void> {
    await this.loaded;
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    this.totalBytes -= entry.sizeBytes;
    await rm(entry.path, { force: true });
  }

  /** Bytes held now (for tests and metrics). */
  get sizeBytes(): number {
    return this.totalBytes;
  }

  private async fetch(key: string, download: () => Promise<{ body: Readable; sizeBytes?: number }>) {
    const path = pathInside(this.root, key);
    const tmpDir = join(this.root, '.partial');
    await mkdir(tmpDir, { recursive: true });
    await mkdir(dirname(path), { recursive: true });
    const tmp = join(tmpDir, `${randomUUID()}.partial`);
    try {
      const { body, sizeBytes: expected } = await download();
      await pipeline(body, createWriteStream(tmp, { flags: 'wx', mode: 0o640 }));
      const { size } = await stat(tmp);
      // A body cut short without an error (a proxy closing early) must not become the copy.
      if (expected !== undefined && size !== expected) {
        throw new Error(`download of ${key} ended at ${size} of ${expected} bytes`);
      }
      await rename(tmp, path);
      this.add(key, path, size);
      await this.evict();
      return path;
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
  }

  private add(key: string, path: string, sizeBytes: number) {
    this.entries.set(key, { path, sizeBytes, usedAt: Date.now() });
    this.totalBytes += sizeBytes;
  }

  private async evict(): Promise<void> {
    if (this.totalBytes <= this.maxBytes) return;
    const now = Date.now();
    const oldest = [...this.entries.entries()].sort((a, b) => a[1].usedAt - b[1].usedAt);
    for (const [key, entry] of oldest) {
      if (this.totalBytes <= this.maxBytes) return;
      if (now - entry.usedAt < this.inUseMs) break;
      this.entries.delete(key);
      this.totalBytes -= entry.sizeBytes;
      await rm(entry.path, { force: true });
    }
    if (this.totalBytes > this.maxBytes) {
      this.logger?.warn(
        { cacheBytes: this.totalBytes, maxBytes: this.maxBytes },
        'model cache over its bound: every file in it was opened in the last minute',
      );
    }
  }

  /** Counts the copies an earlier run left (their last use unknown: oldest first), drops partials. */
  private async scan(): Promise<void> {
    await mkdir(this.root, { recursive: true });
    await rm(join(this.root, '.partial'), { recursive: true, force: true });
    const walk = async (dir: string): Promise<void> => {
      for (const d of await readdir(dir, { withFileTypes: true })) {
        const full = join(dir, d.name);
        if (d.isDirectory()) await walk(full);
        else if (d.isFile()) {
          const { size, mtimeMs } = await stat(full);
          const key = relative(this.root, full).split('\\').join('/');
          this.entries.set(key, { path: full, sizeBytes: size, usedAt: Math.min(mtimeMs, Date.now() - this.inUseMs) });
          this.totalBytes += size;
        }
      }
    };
    await walk(this.root);
  }
}
