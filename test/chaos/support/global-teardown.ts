import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ChaosEntry } from './chaos-report.js';

// A type-only import is erased at compile time: nothing of chaos-report.ts is loaded here.
type Entry = ChaosEntry & { at: string };

/**
 * Prints what the run tried — each fault and bad-input class with its counts, as the chaos tests
 * reported them (chaos-report.ts) — and writes test-artifacts/chaos-report.json. It imports
 * nothing at run time from the suite, for the same reason as global-setup.ts.
 */
export default function globalTeardown(): void {
  const dir = join(import.meta.dirname, '..', '..', '..', 'test-artifacts');
  const lines = join(dir, 'chaos-report.jsonl');
  const entries: Entry[] = existsSync(lines)
    ? readFileSync(lines, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Entry)
    : [];
  mkdirSync(dir, { recursive: true });
  const report = join(dir, 'chaos-report.json');
  writeFileSync(report, `${JSON.stringify({ date: new Date().toISOString(), entries }, null, 2)}\n`);
  const rows = entries.map((e) => {
    const outcomes = Object.entries(e.outcomes)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ');
    const a = e.accounting;
    const acc = a
      ? ` | accepted ${a.accepted}, completed ${a.completed}` +
        (a.usageRecords !== undefined ? `, usage records ${a.usageRecords}` : '') +
        (a.billedTwice !== undefined ? `, billed twice ${a.billedTwice}` : '')
      : '';
    return `  [${e.suite}] ${e.fault}: tried ${e.tried} → ${outcomes}${acc}`;
  });
  process.stdout.write(
    `\n[chaos] ${entries.length} fault / bad-input classes (report: ${report})\n${rows.join('\n')}\n`,
  );
}
