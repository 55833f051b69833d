import { Role } from '../entities/enums.js';
import type { Caller } from '../shared/caller.js';
import { AppError, ErrorCode } from '../shared/errors.js';

/** The catalog write side's error helpers and access rules, shared by its services. */
export const conflict = (message: string, details: Record<string, unknown> = {}) =>
  new AppError(ErrorCode.CONFLICT, message, details);

export const forbidden = (message: string) => new AppError(ErrorCode.FORBIDDEN, message);

export const payloadTooLarge = (maxBytes: number) =>
  new AppError(
    ErrorCode.PAYLOAD_TOO_LARGE,
    `The file exceeds the ${maxBytes}-byte upload limit (UPLOAD_MAX_BYTES); upload a smaller model file ` +
      '(a quantized or pruned export), or ask the operator to raise UPLOAD_MAX_BYTES',
    { maxBytes, limit: 'UPLOAD_FILE' },
  );

export type UserCaller = Extract<Caller, { kind: 'user' }>;

/** The caller as a signed-in user, or UNAUTHENTICATED. */
export function requireUser(caller: Caller): UserCaller {
  if (caller.kind !== 'user') throw new AppError(ErrorCode.UNAUTHENTICATED, 'Sign in to do this');
  return caller;
}

export const isAdmin = (caller: Caller) => caller.kind === 'user' && caller.role === Role.ADMIN;

/** Owners and admins manage a model; everyone else is FORBIDDEN. */
export function requireOwnerOrAdmin(caller: Caller, ownerId: string): UserCaller {
  const user = requireUser(caller);
  if (user.userId !== ownerId && user.role !== Role.ADMIN) throw forbidden('Only the model owner can do this');
  return user;
}

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
