import { hash, verify, type Algorithm } from '@node-rs/argon2';
import { randomBytes } from 'node:crypto';
import { badInput } from '../shared/errors.js';

/** OWASP's argon2id baseline: 19 MiB, 2 passes, 1 lane. */
const ARGON2 = { algorithm: 2 as Algorithm /* Argon2id */, memoryCost: 19_456, timeCost: 2, parallelism: 1 };

export const PASSWORD_MIN_LENGTH = 10;
export const PASSWORD_MAX_LENGTH = 128;

/** A few of the most common passwords that pass the length rule (a full breach list is better). */
const COMMON = new Set([
  '1234567890',
  '12345678910',
  '0123456789',
  'qwertyuiop',
  'password123',
  'password1234',
  'passw0rd123',
  'iloveyou123',
  'letmein1234',
  'administrator',
  'qwerty123456',
  '1q2w3e4r5t',
  'changeme123',
  'welcome123',
]);

/**
 * Checks a new password against the policy (NIST 800-63B style: length over composition rules).
 * Throws BAD_USER_INPUT with `field: "password"` and a `reason` a client can show.
 */
export function assertPasswordPolicy(password: string, context: { email?: string } = {}): void {
  const fail = (reason: string, message: string) => badInput(message, { field: 'password', reason });
  const length = [...password].length;
  if (length < PASSWORD_MIN_LENGTH) {
    throw fail('TOO_SHORT', `Password must be at least ${PASSWORD_MIN_LENGTH} characters`);
  }
  if (length > PASSWORD_MAX_LENGTH)
    throw fail('TOO_LONG', `Password must be at most ${PASSWORD_MAX_LENGTH} characters`);
  if (new Set(password).size < 4) throw fail('TOO_SIMPLE', 'Password must use at least 4 different characters');
  const lower = password.toLowerCase();
  if (COMMON.has(lower)) throw fail('TOO_COMMON', 'Password is too common');
  if (context.email && (lower === context.email || lower === context.email.split('@')[0])) {
    throw fail('CONTAINS_EMAIL', 'Password must not be your email address');
  }
}

/** argon2id hashing, and verification that takes as long whether or not the account exists. */
export class PasswordHasher {
  private dummy?: Promise<string>;

  hash(password: string): Promise<string> {
    return hash(password, ARGON2);
  }

  /**
   * Verifies against the stored hash, or, when there is no account, against a dummy hash with
   * the same parameters: login costs the same time either way (no enumeration by timing).
   */
  async verify(storedHash: string | null | undefined, password: string): Promise<boolean> {
    if (!storedHash) {
      await verify(await this.dummyHash(), password).catch(() => false);
      return false;
    }
    try {
      return await verify(storedHash, password);
    } catch {
      return false; // a malformed stored hash never matches
    }
  }

  private dummyHash(): Promise<string> {
    this.dummy ??= hash(randomBytes(32).toString('base64'), ARGON2);
    return this.dummy;
  }
}
