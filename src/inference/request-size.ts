import { AppError, ErrorCode } from '../shared/errors.js';

/**
 * One request-size rule. INFERENCE_MAX_REQUEST_BYTES bounds the tensor data of one prediction
 * (decoded bytes, whatever the encoding). The HTTP body limit follows from it: room for that many
 * bytes written as b64 (4 characters per 3 bytes) plus an envelope for everything else in the body
 * (the document, input names and shapes, other variables). A b64 request can therefore always
 * reach the inference limit; JSON number arrays take 2 to 25 bytes per element, so large tensors
 * sent that way meet the body limit first, and its answer says to send b64.
 *
 * Every refusal is PAYLOAD_TOO_LARGE (HTTP 413, see src/graphql/error-status.plugin.ts) with
 * `maxBytes`, `limit` naming which limit it was, and a message saying what to do.
 */

/** Room in a body for what is not tensor bytes; generous, since a document is a few kB. */
export const BODY_ENVELOPE_BYTES = 2 ** 20;

/** The largest JSON body accepted on /graphql for an inference limit of `maxRequestBytes`. */
export function httpBodyLimit(maxRequestBytes: number): number {
  return 4 * Math.ceil(maxRequestBytes / 3) + BODY_ENVELOPE_BYTES;
}

/** `16777216 bytes (16 MiB)`: exact for comparison, rounded for reading. */
export function describeBytes(n: number): string {
  if (n < 2 ** 20) return `${n} bytes`;
  const mib = n / 2 ** 20;
  return `${n} bytes (${Number.isInteger(mib) ? mib : mib.toFixed(1)} MiB)`;
}

const SPLIT = 'or split the rows over several requests (createPrediction queues each one)';

/** The HTTP body over `httpBodyLimit`: the advice is mostly b64, which takes a fraction of the space. */
export function bodyTooLarge(maxRequestBytes: number): AppError {
  const limit = httpBodyLimit(maxRequestBytes);
  return new AppError(
    ErrorCode.PAYLOAD_TOO_LARGE,
    `The request body is larger than the ${describeBytes(limit)} limit, which fits ` +
      `${describeBytes(maxRequestBytes)} of tensor data sent as b64 (INFERENCE_MAX_REQUEST_BYTES). ` +
      `Send tensors as b64 (base64 of their little-endian bytes) instead of JSON number arrays, ` +
      `send smaller tensors or fewer rows per request, ${SPLIT}.`,
    { maxBytes: limit, limit: 'HTTP_BODY', maxTensorBytes: maxRequestBytes },
  );
}

/** The decoded inputs of one prediction over INFERENCE_MAX_REQUEST_BYTES (b64 would not help here). */
export function tensorsTooLarge(maxRequestBytes: number, where: string): AppError {
  return new AppError(
    ErrorCode.PAYLOAD_TOO_LARGE,
    `The inputs need more than the ${describeBytes(maxRequestBytes)} of tensor data one prediction may ` +
      `carry (INFERENCE_MAX_REQUEST_BYTES; reached at ${where}). Send smaller tensors or fewer rows per ` +
      `request, ${SPLIT}.`,
    { maxBytes: maxRequestBytes, limit: 'INFERENCE_REQUEST' },
  );
}
