import { Role } from '../entities/enums.js';
import type { Caller } from '../shared/caller.js';
import { assertAllowed } from './auth-checker.js';

const user = (role: Role, key?: string[]): Caller => ({
  kind: 'user',
  userId: 'u1',
  role,
  ...(key ? { apiKeyId: 'k1', scopes: key } : {}),
});
const outcome = (caller: Caller, rules: string[]) => {
  try {
    assertAllowed(caller, rules);
    return 'OK';
  } catch (err) {
    return (err as { code?: string }).code ?? 'ERROR';
  }
};

describe('authChecker rules', () => {
  it.each<[string, Caller, string[], string]>([
    ['anonymous, any rule', { kind: 'anonymous' }, [], 'UNAUTHENTICATED'],
    ['signed in, no rule', user(Role.CONSUMER), [], 'OK'],
    ['role listed', user(Role.PUBLISHER), ['PUBLISHER'], 'OK'],
    ['role not listed', user(Role.CONSUMER), ['PUBLISHER'], 'FORBIDDEN'],
    ['admin is not implied', user(Role.ADMIN), ['PUBLISHER'], 'FORBIDDEN'],
    ['token ignores scopes', user(Role.CONSUMER), ['predict'], 'OK'],
    ['key on a field with no scope', user(Role.CONSUMER, ['predict']), [], 'FORBIDDEN'],
    ['key holding the scope', user(Role.CONSUMER, ['predict']), ['predict'], 'OK'],
    ['key without the scope', user(Role.CONSUMER, ['models:read']), ['predict'], 'FORBIDDEN'],
    [
      'key with the scope but the wrong role',
      user(Role.CONSUMER, ['models:write']),
      ['PUBLISHER', 'models:write'],
      'FORBIDDEN',
    ],
    ['key with scope and role', user(Role.PUBLISHER, ['models:write']), ['PUBLISHER', 'models:write'], 'OK'],
  ])('%s', (_name, caller, rules, expected) => {
    expect(outcome(caller, rules)).toBe(expected);
  });

  it('refuses unknown names loudly (a typo must not open a field)', () => {
    expect(() => assertAllowed(user(Role.ADMIN), ['ADMINN'])).toThrow(/unknown roles or scopes/);
  });
});
