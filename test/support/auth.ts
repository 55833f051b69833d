import type { App } from '../../src/app.js';
import { buildContext } from '../../src/graphql/build-context.js';
import type { User } from '../../src/entities/user.entity.js';

/**
 * Credentials for tests, made through the real services (the same keys and hashing as
 * production code), for users made by the factories. Signatures are relied on by other suites.
 */

/** An access JWT for an existing user row (its current role). */
export async function tokenFor(app: App, user: User): Promise<string> {
  const { token } = await app.services.auth.tokens.issue({ id: user.id, role: user.role });
  return token;
}

/** `{ authorization: 'Bearer …' }` for `server.gql(doc, vars, headers)` or fetch. */
export async function authHeaders(app: App, user: User): Promise<Record<string, string>> {
  return { authorization: `Bearer ${await tokenFor(app, user)}` };
}

/** Creates an API key row for the user with these scopes and returns its secret (`aimpk_…`). */
export async function apiKeyFor(
  app: App,
  user: User,
  scopes: string[],
  options: { name?: string; expiresInDays?: number } = {},
): Promise<string> {
  const ctx = buildContext(() => app.db.orm.em.fork(), { caller: { kind: 'user', userId: user.id, role: user.role } });
  const { secret } = await app.services.auth.apiKeys.create(ctx, {
    name: options.name ?? 'test key',
    scopes,
    expiresInDays: options.expiresInDays ?? null,
  });
  return secret;
}

/** `{ 'x-api-key': secret }`. */
export function apiKeyHeaders(secret: string): Record<string, string> {
  return { 'x-api-key': secret };
}
