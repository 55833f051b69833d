// One contract, two stores: the local folder and an S3-compatible bucket (s3rver, started by the
// harness in its own process, checking every request's signature). Whatever the store, a file is
// whole or absent, its size and SHA-256 are those of its bytes, a stream over its limit or broken
// midway leaves nothing, and a key cannot escape. The S3 store's local cache is checked too: a
// second process with a folder of its own reads what the first stored, one download per key
// however many ask, and the cache keeps to its bound.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { loadConfig } from '../../src/config.js';
import { LocalModelStorage, StoredFileTooLargeError, type ModelStorage } from '../../src/storage/model-storage.js';
import { S3ModelStorage } from '../../src/storage/s3-storage.js';
import { startS3Server, type S3Server } from '../support/s3-server.js';

let s3: S3Server;
const dirs: string[] = [];
const opened: S3ModelStorage[] = [];
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'mm-storage-'));
  dirs.push(d);
  return d;
};

/** An S3 store as a process configures it, with a data folder of its own. */
function s3Store(extra: Record<string, string> = {}, cacheInUseMs?: number) {
  const config = loadConfig({ NODE_ENV: 'test', DATA_DIR: tempDir(), ...s3.env({ S3_PART_SIZE_MB: '5', ...extra }) });
  if (config.storage.kind !== 's3') throw new Error('expected the S3 settings');
  const store = new S3ModelStorage(config.storage, { cacheInUseMs });
  opened.push(store);
  return store;
}

beforeAll(async () => {
  s3 = await startS3Server();
}, 30_000);

afterAll(async () => {
  for (const s of opened) s.close();
  await s3?.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const readAll = async (r: Readable) => {
  const chunks: Buffer[] = [];
  for await (const c of r) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
};
/** A stream of `bytes` in 64 KiB chunks that fails after `failAfter` bytes, if given. */
function chunked(bytes: Buffer, failAfter?: number): Readable {
  return Readable.from(
    (async function* () {
      for (let i = 0; i < bytes.length; i += 65536) {
        if (failAfter !== undefined && i >= failAfter) throw new Error('the client went away');
        yield bytes.subarray(i, i + 65536);
      }
    })(),
  );
}

describe.each([
  ['local folder', () => new LocalModelStorage(tempDir()) as ModelStorage],
  ['S3 bucket', () => s3Store() as ModelStorage],
])('%s', (_name, make) => {
  let store: ModelStorage;
  beforeAll(() => {
    store = make();
  });

  it('stores a stream whole, with its size and SHA-256, readable as a path and as a stream', async () => {
    // Over two 5 MiB parts: a multipart upload on S3.
    const bytes = randomBytes(12 * 1024 * 1024 + 123);
    const stored = await store.putStream('versions/a/model.onnx', chunked(bytes));
    expect(stored).toEqual({ sizeBytes: bytes.length, sha256: sha(bytes) });
    expect(await store.exists('versions/a/model.onnx')).toBe(true);
    expect(sha(readFileSync(await store.localPath('versions/a/model.onnx')))).toBe(sha(bytes));
    expect(sha(await readAll(await store.openRead('versions/a/model.onnx')))).toBe(sha(bytes));
  }, 60_000);

  it('stores bytes', async () => {
    const bytes = randomBytes(1000);
    expect(await store.putBytes('seed/m.onnx', bytes)).toEqual({ sizeBytes: 1000, sha256: sha(bytes) });
    expect(readFileSync(await store.localPath('seed/m.onnx')).equals(bytes)).toBe(true);
  });

  it('keeps nothing of a stream over its limit, or of one that breaks midway', async () => {
    const bytes = randomBytes(7 * 1024 * 1024);
    await expect(
      store.putStream('big/model.onnx', chunked(bytes), { maxBytes: 6 * 1024 * 1024 }),
    ).rejects.toBeInstanceOf(StoredFileTooLargeError);
    expect(await store.exists('big/model.onnx')).toBe(false);
    await expect(store.putStream('cut/model.onnx', chunked(bytes, 6 * 1024 * 1024))).rejects.toThrow(
      'the client went away',
    );
    expect(await store.exists('cut/model.onnx')).toBe(false);
  }, 60_000);

  it('deletes, after which the file is absent everywhere', async () => {
    await store.putBytes('gone/model.onnx', randomBytes(10));
    await store.localPath('gone/model.onnx');
    await store.delete('gone/model.onnx');
    expect(await store.exists('gone/model.onnx')).toBe(false);
    await expect(store.openRead('gone/model.onnx')).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(store.localPath('gone/model.onnx').then((p) => readFileSync(p))).rejects.toMatchObject({
      code: 'ENOENT',
    });
    // Deleting what is not there is not an error (deletions are retried jobs).
    await store.delete('gone/model.onnx');
  });

  it('refuses keys that could escape', async () => {
    for (const key of ['../x', '/etc/passwd', 'a/../../b', 'a//b', '']) {
      await expect(store.putBytes(key, randomBytes(1))).rejects.toThrow('invalid storage key');
    }
  });
});

describe('the S3 store across processes', () => {
  it('lets a process with a folder of its own read what another stored, one download per key', async () => {
    const writer = s3Store();
    const reader = s3Store();
    const bytes = randomBytes(3 * 1024 * 1024);
    await writer.putStream('versions/shared/model.onnx', chunked(bytes));
    const gets: string[] = [];
    reader.client.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'GetObjectCommand') gets.push(context.commandName);
        return next(args);
      },
      { step: 'initialize' },
    );
    const paths = await Promise.all(Array.from({ length: 8 }, () => reader.localPath('versions/shared/model.onnx')));
    expect(new Set(paths).size).toBe(1);
    expect(paths[0]).not.toBe(await writer.localPath('versions/shared/model.onnx'));
    expect(sha(readFileSync(paths[0]))).toBe(sha(bytes));
    expect(gets).toHaveLength(1);
    // A later ask is served from the cache.
    await reader.localPath('versions/shared/model.onnx');
    expect(gets).toHaveLength(1);
  }, 60_000);

  it('keeps its cache to MODEL_CACHE_MAX_MB, dropping the copy not opened for longest', async () => {
    const store = s3Store({ MODEL_CACHE_MAX_MB: '2' }, 0);
    const mib = (n: number) => randomBytes(n * 1024 * 1024);
    for (const k of ['a', 'b', 'c']) await store.putBytes(`cache/${k}.onnx`, mib(1));
    await store.localPath('cache/a.onnx');
    await store.localPath('cache/b.onnx');
    await store.localPath('cache/a.onnx');
    // A third MiB passes the bound: b, opened longest ago, goes.
    await store.localPath('cache/c.onnx');
    expect(store.cache.sizeBytes).toBeLessThanOrEqual(2 * 1024 * 1024);
    expect(readFileSync(await store.localPath('cache/a.onnx')).length).toBe(1024 * 1024);
  }, 60_000);

  it('refuses MODEL_STORAGE=s3 without a bucket, or with half the credentials', () => {
    expect(() => loadConfig({ MODEL_STORAGE: 's3' })).toThrow('S3_BUCKET: required when MODEL_STORAGE=s3');
    expect(() => loadConfig({ MODEL_STORAGE: 's3', S3_BUCKET: 'b-1', S3_ACCESS_KEY_ID: 'x' })).toThrow(
      'set both or neither',
    );
  });
});
