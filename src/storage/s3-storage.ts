import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  NotFound,
  NoSuchKey,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { createHash } from 'node:crypto';
import type { Logger } from '../shared/logger.js';
import { FileCache } from './file-cache.js';
import type { ModelStorage } from './model-storage.js';
import type { StorageSettings } from './storage.config.js';
import { checkKey, meteredHash } from './storage-keys.js';

type S3Settings = Extract<StorageSettings['storage'], { kind: 's3' }>;

/**
 * Model storage in an S3-compatible bucket (AWS S3, MinIO, R2, B2, Ceph…) through the official
 * SDK, so that API replicas and workers on different machines share files without a shared
 * folder. Streams are uploaded in parts (lib-storage's Upload: memory bounded by part size ×
 * queue size, never the whole file) and only become visible when the upload completes, which
 * keeps `putStream` atomic; a failed one is aborted, leaving no parts behind. Paths for
 * onnxruntime come from a bounded local cache (file-cache.ts).
 */
export class S3ModelStorage implements ModelStorage {
  readonly client: S3Client;
  readonly cache: FileCache;

  constructor(
    private readonly settings: S3Settings,
    options: { logger?: Pick<Logger, 'warn'>; cacheInUseMs?: number } = {},
  ) {
    this.client = new S3Client({
      region: settings.region,
      endpoint: settings.endpoint,
      forcePathStyle: settings.forcePathStyle,
      credentials: settings.credentials,
      // Checksums only where S3 requires them: since SDK 3.729 uploads otherwise default to
      // aws-chunked bodies with trailing CRC32s, which several S3-compatible servers reject or
      // store verbatim. Our own SHA-256 of every file is kept in the database instead.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      maxAttempts: 3,
    });
    this.cache = new FileCache(settings.cacheDir, {
      maxBytes: settings.cacheMaxBytes,
      logger: options.logger,
      inUseMs: options.cacheInUseMs,
    });
  }

  private keyOf(key: string): string {
    return `${this.settings.prefix}${checkKey(key)}`;
  }

  async putBytes(key: string, bytes: Uint8Array) {
    await this.client.send(
      new PutObjectCommand({
        Bucket: this.settings.bucket,
        Key: this.keyOf(key),
        Body: bytes,
        ContentLength: bytes.byteLength,
      }),
    );
    return { sizeBytes: bytes.byteLength, sha256: createHash('sha256').update(bytes).digest('hex') };
  }

  async putStream(key: string, stream: Readable, options: { maxBytes?: number } = {}) {
    // As in LocalModelStorage: an error the source emits before pipeline() listens is still
    // seen by pipeline() (the stream is errored), never an unhandled 'error' event.
    const ignoreEarlyError = () => undefined;
    stream.on('error', ignoreEarlyError);
    const meter = meteredHash(options.maxBytes);
    const upload = new Upload({
      client: this.client,
      params: { Bucket: this.settings.bucket, Key: this.keyOf(key), Body: meter.stream },
      partSize: this.settings.partBytes,
      queueSize: 4,
      leavePartsOnError: false,
    });
    const piping = pipeline(stream, meter.stream);
    const uploading = upload.done();
    // Whichever side fails stops the other: a broken upload stream aborts the S3 upload, and a
    // refused S3 upload stops reading the client's bytes.
    // The S3 side's error reaches the stream as a stand-in, so that the error thrown (S3's) is
    // not the stream's own: storeUpload blames the client only for a stream that broke by itself.
    let failed: 'stream' | 'store' | undefined;
    piping.catch(() => {
      failed ??= 'stream';
      return upload.abort().catch(() => undefined);
    });
    uploading.catch(() => {
      failed ??= 'store';
      meter.stream.destroy(new Error('the upload to storage failed'));
    });
    const [piped, uploaded] = await Promise.allSettled([piping, uploading]);
    stream.off('error', ignoreEarlyError);
    if (failed === 'store' && uploaded.status === 'rejected') throw uploaded.reason;
    if (piped.status === 'rejected') throw piped.reason;
    if (uploaded.status === 'rejected') throw uploaded.reason;
    return { sizeBytes: meter.result.sizeBytes, sha256: meter.result.sha256() };
  }

  async localPath(key: string): Promise<string> {
    return this.cache.path(key, async () => {
      const { body, sizeBytes } = await this.get(key);
      return { body, sizeBytes };
    });
  }

  async openRead(key: string): Promise<Readable> {
    return (await this.get(key)).body;
  }

  private async get(key: string): Promise<{ body: Readable; sizeBytes?: number }> {
    try {
      const res = await this.client.send(new GetObjectCommand({ Bucket: this.settings.bucket, Key: this.keyOf(key) }));
      const body = res.Body;
      if (!(body instanceof Readable)) throw new Error(`S3 returned no stream for ${key}`);
      return { body, sizeBytes: res.ContentLength };
    } catch (err) {
      if (err instanceof NoSuchKey || err instanceof NotFound) {
        throw Object.assign(new Error(`no stored file ${key}`), { code: 'ENOENT' });
      }
      throw err;
    }
  }

  async exists(key: string): Promise<boolean> {
    try {
      await this.client.send(new HeadObjectCommand({ Bucket: this.settings.bucket, Key: this.keyOf(key) }));
      return true;
    } catch (err) {
      if (
        err instanceof NotFound ||
        (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404
      ) {
        return false;
      }
      throw err;
    }
  }

  async delete(key: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.settings.bucket, Key: this.keyOf(key) }));
    await this.cache.remove(key);
  }

  close(): void {
    this.client.destroy();
  }
}
