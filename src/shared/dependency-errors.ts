/**
 * Whether an error means a dependency (PostgreSQL, Redis) is unreachable or going away, rather
 * than a fault of the request or a bug: the request may succeed if retried shortly. The GraphQL
 * edge answers these SERVICE_UNAVAILABLE with `retryable: true` (src/graphql/format-error.ts)
 * instead of masking them as INTERNAL_SERVER_ERROR. Shapes seen when the dependency-fault suite
 * (test/chaos/) stopped them under load:
 * - pg / MikroORM: `connect ECONNREFUSED …` (code on the error), `Connection terminated
 *   unexpectedly` (a pooled connection the server closed), SQLSTATE 57P01 "terminating connection
 *   due to administrator command", 57P03 "the database system is starting up / shutting down";
 * - ioredis: "Stream isn't writeable and enableOfflineQueue options is false", "Connection is
 *   closed.", and MaxRetriesPerRequestError once its reconnect attempts for a command run out.
 */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
]);
/** SQLSTATE class 08 (connection exception), 57P01-57P03 (shutdown, crash, cannot connect now), 53300 (too many connections). */
const PG_UNAVAILABLE = /^(08[0-9A-Z]{3}|57P0[123]|53300)$/;
const MESSAGES = [
  /^Connection terminated/i,
  /^Connection is closed/i,
  /Stream isn't writeable/i,
  /max retries per request limit/i,
  /timeout exceeded when trying to connect/i,
];

export function isDependencyUnavailable(err: unknown, depth = 0): boolean {
  // Duck-typed, not `instanceof Error`: socket errors come from Node's own realm, which is not the
  // one a vm context (Jest) runs the code in.
  if (typeof err !== 'object' || err === null || depth > 5) return false;
  const e = err as { code?: unknown; name?: unknown; message?: unknown; errors?: unknown; cause?: unknown };
  if (typeof e.code === 'string' && (NETWORK_CODES.has(e.code) || PG_UNAVAILABLE.test(e.code))) return true;
  if (e.name === 'MaxRetriesPerRequestError') return true;
  if (typeof e.message === 'string' && MESSAGES.some((m) => m.test(e.message as string))) return true;
  if (Array.isArray(e.errors) && e.errors.some((inner) => isDependencyUnavailable(inner, depth + 1))) return true;
  return isDependencyUnavailable(e.cause, depth + 1);
}

/**
 * Runs `op`, and runs it again while it fails because a dependency is unavailable (backoff from
 * `firstDelayMs`, doubling to 5 s), for up to `maxWaitMs` in all; other errors are thrown at once.
 * For background bookkeeping that no client will retry (a validated upload's status).
 */
export async function retryWhileUnavailable<T>(
  op: () => Promise<T>,
  options: { maxWaitMs?: number; firstDelayMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + (options.maxWaitMs ?? 30_000);
  let delay = options.firstDelayMs ?? 250;
  for (;;) {
    try {
      return await op();
    } catch (err) {
      if (!isDependencyUnavailable(err) || Date.now() + delay > deadline) throw err;
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(delay * 2, 5000);
    }
  }
}
