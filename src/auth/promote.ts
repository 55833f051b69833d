import type { EntityManager } from '@mikro-orm/postgresql';
import { Role } from '../entities/enums.js';
import { User } from '../entities/user.entity.js';
import { normalizeEmail } from './account.service.js';
import type { UserStatusCache } from './user-status-cache.js';

export type PromoteArgs = { email: string; role: Role };

/** Parses `--email <email> --role <ROLE>` (also `--email=…`); throws a usage message otherwise. */
export function parsePromoteArgs(argv: readonly string[]): PromoteArgs {
  const usage = 'usage: npm run promote -- --email <email> --role ADMIN|PUBLISHER|CONSUMER';
  const values: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const m = /^--(email|role)(?:=(.*))?$/.exec(arg);
    if (!m) throw new Error(`unknown argument ${arg}\n${usage}`);
    const value = m[2] ?? argv[++i];
    if (!value) throw new Error(`--${m[1]} needs a value\n${usage}`);
    values[m[1]] = value;
  }
  if (!values.email || !values.role) throw new Error(usage);
  const role = values.role.toUpperCase();
  if (!(Object.values(Role) as string[]).includes(role)) throw new Error(`unknown role ${values.role}\n${usage}`);
  return { email: values.email, role: role as Role };
}

/**
 * Sets a user's role. New access tokens (next login or refresh) carry it; access tokens already
 * out and API keys follow the owner's row once their caches let go of it (USER_STATUS_CACHE_SECONDS,
 * API_KEY_CACHE_SECONDS). Pass `users` when running inside a server process so its access-token
 * callers follow at once (the CLI runs in its own process: the server's TTL bounds it).
 */
export async function setUserRole(
  em: EntityManager,
  args: PromoteArgs,
  users?: Pick<UserStatusCache, 'forget'>,
): Promise<{ id: string; from: Role; to: Role }> {
  const user = await em.findOne(User, { email: normalizeEmail(args.email), deletedAt: null });
  if (!user) throw new Error(`no account with email ${normalizeEmail(args.email)}`);
  const from = user.role;
  user.role = args.role;
  await em.flush();
  users?.forget(user.id);
  return { id: user.id, from, to: args.role };
}
