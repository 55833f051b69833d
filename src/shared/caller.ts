import type { Role } from '../entities/enums.js';

/** Who is making a request: nobody yet, or a user (directly, or through one of their API keys). */
export type Caller =
  { kind: 'anonymous' } | { kind: 'user'; userId: string; role: Role; apiKeyId?: string; scopes?: readonly string[] };

export const ANONYMOUS: Caller = { kind: 'anonymous' };

export const callerUserId = (caller: Caller): string | undefined =>
  caller.kind === 'user' ? caller.userId : undefined;
