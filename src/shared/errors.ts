import { GraphQLError } from 'graphql';

/**
 * The error codes clients branch on (`extensions.code`): the README's Architecture section says how they reach clients.
 * Services throw `AppError`; the GraphQL edge turns it into a GraphQLError with this code, and
 * anything else becomes INTERNAL_SERVER_ERROR with its message masked.
 */
export enum ErrorCode {
  UNAUTHENTICATED = 'UNAUTHENTICATED',
  FORBIDDEN = 'FORBIDDEN',
  NOT_FOUND = 'NOT_FOUND',
  BAD_USER_INPUT = 'BAD_USER_INPUT',
  RATE_LIMITED = 'RATE_LIMITED',
  QUOTA_EXCEEDED = 'QUOTA_EXCEEDED',
  PAYLOAD_TOO_LARGE = 'PAYLOAD_TOO_LARGE',
  CONFLICT = 'CONFLICT',
  /** A dependency (database, Redis, worker pool) is down or overloaded: retrying later may work. */
  SERVICE_UNAVAILABLE = 'SERVICE_UNAVAILABLE',
  INTERNAL_SERVER_ERROR = 'INTERNAL_SERVER_ERROR',
}

export class AppError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    /** Extra, client-safe details placed in `extensions` (e.g. `field`, `retryAfter`). */
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'AppError';
  }

  toGraphQLError(): GraphQLError {
    return new GraphQLError(this.message, { extensions: { ...this.details, code: this.code } });
  }
}

export const badInput = (message: string, details: Record<string, unknown> = {}) =>
  new AppError(ErrorCode.BAD_USER_INPUT, message, details);

export const notFound = (what: string) => new AppError(ErrorCode.NOT_FOUND, `${what} not found`);

/**
 * A rule of the domain refuses this caller (one cannot review one's own model). Who may call at
 * all — signed in, role, scope, owner — is src/auth/access.ts, with its coded reasons.
 */
export const notPermitted = (message: string, details: Record<string, unknown> = {}) =>
  new AppError(ErrorCode.FORBIDDEN, message, details);

/**
 * A start-up failure whose message tells the operator what to do (a data folder in use, say):
 * the entry point prints the message alone, without a stack trace.
 */
export class StartupError extends Error {
  override name = 'StartupError';
}
