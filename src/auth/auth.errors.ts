import { AppError, ErrorCode } from '../shared/errors.js';

/**
 * Why a request was not let in, as `extensions.reason` beside the code: clients branch on the
 * code (UNAUTHENTICATED: get a new token; FORBIDDEN: don't retry) and show or log the reason.
 */
export enum AuthFailure {
  /** Missing, malformed, wrongly signed, wrong issuer/audience: anything not worth telling apart. */
  INVALID_TOKEN = 'INVALID_TOKEN',
  TOKEN_EXPIRED = 'TOKEN_EXPIRED',
  /** A valid token whose account has since been deleted or closed: signing in again will not help. */
  ACCOUNT_NOT_FOUND = 'ACCOUNT_NOT_FOUND',
  INVALID_API_KEY = 'INVALID_API_KEY',
  API_KEY_REVOKED = 'API_KEY_REVOKED',
  API_KEY_EXPIRED = 'API_KEY_EXPIRED',
  INVALID_CREDENTIALS = 'INVALID_CREDENTIALS',
  INVALID_REFRESH_TOKEN = 'INVALID_REFRESH_TOKEN',
  REFRESH_TOKEN_REUSED = 'REFRESH_TOKEN_REUSED',
  LOGIN_REQUIRED = 'LOGIN_REQUIRED',
  ROLE_REQUIRED = 'ROLE_REQUIRED',
  /** Only the resource's owner (or an admin) may do this. */
  OWNER_REQUIRED = 'OWNER_REQUIRED',
  SCOPE_REQUIRED = 'SCOPE_REQUIRED',
  API_KEY_NOT_ALLOWED = 'API_KEY_NOT_ALLOWED',
  /** EMAIL_VERIFICATION=required: publishing and paid models wait for a confirmed address. */
  EMAIL_NOT_VERIFIED = 'EMAIL_NOT_VERIFIED',
}

const MESSAGES: Record<AuthFailure, string> = {
  INVALID_TOKEN: 'Invalid access token',
  TOKEN_EXPIRED: 'Access token expired',
  ACCOUNT_NOT_FOUND: 'This account no longer exists or has been closed',
  INVALID_API_KEY: 'Invalid API key',
  API_KEY_REVOKED: 'API key revoked',
  API_KEY_EXPIRED: 'API key expired',
  INVALID_CREDENTIALS: 'Invalid email or password',
  INVALID_REFRESH_TOKEN: 'Invalid or expired refresh token',
  REFRESH_TOKEN_REUSED: 'Refresh token already used: the session has been revoked, log in again',
  LOGIN_REQUIRED: 'Authentication required',
  ROLE_REQUIRED: 'Your role does not allow this',
  OWNER_REQUIRED: 'Only the owner (or an admin) can do this',
  SCOPE_REQUIRED: "This API key's scopes do not allow this",
  EMAIL_NOT_VERIFIED:
    'Confirm your email address first: open the link we mailed you (resendVerification sends a new one)',
  API_KEY_NOT_ALLOWED: 'API keys cannot do this: use an access token',
};

export const unauthenticated = (reason: AuthFailure, details: Record<string, unknown> = {}) =>
  new AppError(ErrorCode.UNAUTHENTICATED, MESSAGES[reason], { reason, ...details });

export const forbidden = (reason: AuthFailure, details: Record<string, unknown> = {}) =>
  new AppError(ErrorCode.FORBIDDEN, MESSAGES[reason], { reason, ...details });
