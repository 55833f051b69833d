import { pendingMigrations } from '../db/database.js';
import type { Infrastructure } from './infrastructure.js';

export type ReadinessReport = { ready: boolean; checks: Record<string, { ok: boolean; detail?: string }> };

/** What `/health/ready` answers: every dependency this process needs, checked now. */
export async function readiness({
  db,
  inference,
  redis,
}: Pick<Infrastructure, 'db' | 'inference' | 'redis'>): Promise<ReadinessReport> {
  const checks: ReadinessReport['checks'] = {};
  if (redis) {
    // Queues, pub/sub and rate limits run on it: while it is down, jobs are not taken and
    // subscribers get no events, so the replica says so (and says it again once reconnected).
    try {
      if (redis.status !== 'ready') throw new Error(`connection ${redis.status}`);
      await Promise.race([
        redis.ping(),
        new Promise((_, reject) => setTimeout(() => reject(new Error('no PONG in 1 s')), 1000).unref()),
      ]);
      checks.redis = { ok: true };
    } catch (err) {
      checks.redis = { ok: false, detail: err instanceof Error ? err.message : String(err) };
    }
  }
  // A lazy pool that has not started yet is fine; a started one needs every worker up.
  const h = inference.health();
  checks.inference =
    !h.started || h.ready === h.size ? { ok: true } : { ok: false, detail: `${h.ready}/${h.size} workers ready` };
  try {
    await db.orm.em.fork().execute('select 1');
    checks.database = { ok: true };
    const pending = await pendingMigrations(db.orm);
    checks.migrations = pending.length ? { ok: false, detail: `pending: ${pending.join(', ')}` } : { ok: true };
  } catch (err) {
    checks.database = { ok: false, detail: err instanceof Error ? err.message : String(err) };
  }
  return { ready: Object.values(checks).every((c) => c.ok), checks };
}
