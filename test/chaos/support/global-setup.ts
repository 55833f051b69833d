import { rmSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Starts every `npm run test:chaos` with an empty report (test-artifacts/chaos-report.jsonl, see
 * chaos-report.ts). Self-contained: Jest loads global setup files without the suite's module
 * mapping, so importing a sibling `.js` path would fail here.
 */
export default function globalSetup(): void {
  rmSync(join(import.meta.dirname, '..', '..', '..', 'test-artifacts', 'chaos-report.jsonl'), { force: true });
  const db = process.env.DATABASE_URL ? new URL(process.env.DATABASE_URL).host : 'none';
  const redis = process.env.REDIS_URL ? new URL(process.env.REDIS_URL).host : 'none';
  process.stdout.write(`\n[chaos] database ${db}, redis ${redis}\n`);
}
