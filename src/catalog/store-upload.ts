import type { Readable } from 'node:stream';
import { badInput } from '../shared/errors.js';
import { StoredFileTooLargeError, type ModelStorage } from '../storage/model-storage.js';
import { payloadTooLarge } from './catalog.errors.js';

/** An uploaded file as graphql-upload-ts hands it over (or any test double streaming bytes). */
export type UploadedFile = { filename: string; createReadStream(options?: { highWaterMark?: number }): Readable };

/**
 * Read size for the upload's temporary file. fs-capacitor's ReadStream reads `highWaterMark`
 * bytes per call and Readable's default is 16 KiB: 1 MiB reads move a large model several
 * times faster (bench/scenarios/upload.bench.ts), and bound memory at a few MiB per upload.
 */
const READ_CHUNK_BYTES = 1024 * 1024;

/**
 * Streams a GraphQL multipart upload into storage (a model version's file, a batch's JSONL),
 * turning its failures into what the client should see: PAYLOAD_TOO_LARGE past `maxBytes`,
 * BAD_USER_INPUT when the request broke, anything else (a full disk) as it is.
 */
export async function storeUpload(
  storage: ModelStorage,
  key: string,
  upload: UploadedFile | Promise<UploadedFile>,
  maxBytes: number,
) {
  let stream: Readable;
  try {
    // The Upload scalar's promise rejects when the multipart request broke before the file part.
    const file = await upload;
    stream = file.createReadStream({ highWaterMark: READ_CHUNK_BYTES });
  } catch (err) {
    // graphql-upload-ts throws here when the file already failed (e.g. passed its size limit).
    throw uploadError(err, maxBytes, true);
  }
  try {
    return await storage.putStream(key, stream, { maxBytes });
  } catch (err) {
    // The upload's own stream failed: the request was cut short or its multipart body broke
    // (busboy's errors carry no status). A file-system error buffering it is still ours.
    const fromRequest = err === stream.errored && !(err as { syscall?: unknown }).syscall;
    throw uploadError(err, maxBytes, fromRequest);
  }
}

function uploadError(err: unknown, maxBytes: number, fromRequest = false): Error {
  if (err instanceof StoredFileTooLargeError) return payloadTooLarge(maxBytes);
  const status = (err as { status?: unknown } | null)?.status;
  if (status === 413) return payloadTooLarge(maxBytes);
  if ((typeof status === 'number' && status >= 400 && status < 500) || (fromRequest && err instanceof Error)) {
    return badInput(`The upload did not arrive whole: ${(err as Error).message}`, { field: 'file' });
  }
  return err instanceof Error ? err : new Error(String(err));
}
