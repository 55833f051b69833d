import type { BenchResult } from '../harness.js';
import { seriesOf } from './chart.js';

export type SummaryRow = {
  name: string;
  seconds?: number;
  /** Set when the scenario threw: the table says ERROR and the message. */
  error?: string;
  result?: BenchResult;
};

const fmt = (n: number) => (Math.abs(n) >= 100 ? String(Math.round(n)) : String(Math.round(n * 100) / 100));

/**
 * The table `npm run bench` prints at its end: one row per scenario run (time, targets met,
 * key figures: its ratios vs baseline and its first latency), then every target as PASS/MISS.
 */
export function summaryTable(rows: readonly SummaryRow[]): string {
  const table = rows.map((r) => {
    if (r.error || !r.result) return [r.name, time(r.seconds), 'ERROR', r.error ?? 'no result'];
    const targets = r.result.targets ?? [];
    const missed = targets.filter((t) => !t.pass).length;
    const verdict =
      targets.length === 0
        ? '—'
        : missed
          ? `${missed}/${targets.length} MISS`
          : `${targets.length}/${targets.length} PASS`;
    const s = seriesOf(r.name, { ...r.result });
    const key = [
      ...s.ratios.map((x) => `${x.label} ${fmt(x.value)}×`),
      ...s.latencies.slice(0, 1).map((l) => `${l.label} p50/p99 ${fmt(l.p50)}/${fmt(l.p99)} ${l.unit}`),
    ];
    return [r.name, time(r.seconds), verdict, key.join('; ') || '—'];
  });
  const head = ['scenario', 'time', 'targets', 'key figures'];
  const widths = head.slice(0, 3).map((h, i) => Math.max(h.length, ...table.map((row) => row[i].length)));
  const line = (cells: string[]) =>
    [...cells.slice(0, 3).map((c, i) => c.padEnd(widths[i])), cells[3]].join('  ').trimEnd();
  const out = [line(head), line(widths.map((w) => '-'.repeat(w)).concat('-'.repeat(11))), ...table.map(line)];
  const targets = rows.flatMap((r) =>
    (r.result?.targets ?? []).map(
      (t) => `${t.pass ? 'PASS' : 'MISS'}  ${r.name}: ${t.name} = ${t.value} (target ${t.target})`,
    ),
  );
  if (targets.length) out.push('', ...targets);
  return `${out.join('\n')}\n`;
}

const time = (s?: number) => (s === undefined ? '' : `${s}s`);
