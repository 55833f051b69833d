import { AppError, ErrorCode } from '../shared/errors.js';

/** The catalog write side's error helpers, shared by its services (access rules: src/auth/access.ts). */
export const conflict = (message: string, details: Record<string, unknown> = {}) =>
  new AppError(ErrorCode.CONFLICT, message, details);

export const payloadTooLarge = (maxBytes: number) =>
  new AppError(
    ErrorCode.PAYLOAD_TOO_LARGE,
    `The file exceeds the ${maxBytes}-byte upload limit (UPLOAD_MAX_BYTES); upload a smaller model file ` +
      '(a quantized or pruned export), or ask the operator to raise UPLOAD_MAX_BYTES',
    { maxBytes, limit: 'UPLOAD_FILE' },
  );

/**
 * Which unique constraint a failed INSERT/UPDATE hit, if any. PostgreSQL names it in the
 * message ('duplicate key value violates unique constraint "…"'), and MikroORM keeps that message.
 */
export function violatedUnique(err: unknown): string | undefined {
  if (!(err instanceof Error)) return undefined;
  const m = /violates unique constraint "([^"]+)"/.exec(err.message);
  return m?.[1];
}

export { UUID } from '../shared/ids.js';
