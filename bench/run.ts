import 'reflect-metadata';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { BenchResult, BenchScenario } from './harness.js';
import { buildChart, type ResultsFile } from './support/chart.js';
import { createProgress } from './support/progress.js';
import { summaryTable, type SummaryRow } from './support/summary.js';

/**
 * `npm run bench [-- name…] [--quick]`: runs every scenario in bench/scenarios (or the named
 * ones) showing its progress, prints a summary table, writes bench/results.json with the machine
 * it ran on and draws bench/results.svg from it (`npm run bench:chart` redraws it alone).
 */
const dir = join(import.meta.dirname, 'scenarios');
const args = process.argv.slice(2);
const quick = args.includes('--quick');
// `--out <dir>`: write results there instead of bench/ (CI's smoke run keeps the committed figures).
const outAt = args.indexOf('--out');
const outDir = outAt >= 0 ? args[outAt + 1] : import.meta.dirname;
const only = args.filter((a, i) => !a.startsWith('--') && !(outAt >= 0 && i === outAt + 1));
/** How these figures were produced, recorded beside them. */
const command = `npm run bench${args.length ? ` -- ${args.join(' ')}` : ''}`;

const files = readdirSync(dir)
  .filter((f) => f.endsWith('.bench.ts'))
  .sort();
const scenarios: BenchScenario[] = [];
for (const f of files) {
  const mod = (await import(pathToFileURL(join(dir, f)).href)) as { scenario: BenchScenario };
  if (only.length === 0 || only.includes(mod.scenario.name)) scenarios.push(mod.scenario);
}
if (scenarios.length === 0) {
  process.stderr.write(`no scenario matches ${only.join(', ')}\n`);
  process.exit(1);
}

const results: Record<string, BenchResult & { title: string; seconds: number; date: string; command: string }> = {};
const summary: SummaryRow[] = [];
const progress = createProgress(scenarios.length);
let failed = 0;
for (const [i, s] of scenarios.entries()) {
  progress.start(i + 1, s.name, s.title);
  const started = performance.now();
  const elapsed = () => Math.round((performance.now() - started) / 100) / 10;
  try {
    const r = await s.run({ quick, log: (m) => progress.log(m) });
    const seconds = elapsed();
    results[s.name] = { ...r, title: s.title, seconds, date: new Date().toISOString(), command };
    summary.push({ name: s.name, seconds, result: r });
    for (const [k, v] of Object.entries(r.metrics)) progress.log(`${k.padEnd(48)} ${v}`);
    for (const t of r.targets ?? []) {
      progress.log(`${t.pass ? 'PASS' : 'MISS'} ${t.name}: ${t.value} (target ${t.target})`);
    }
  } catch (err) {
    failed++;
    summary.push({ name: s.name, seconds: elapsed(), error: err instanceof Error ? err.message : String(err) });
    progress.log(`ERROR ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  }
}
progress.stop();
process.stdout.write(`\n${summaryTable(summary)}`);

// Running some scenarios keeps the others' last figures (each result carries its own date).
mkdirSync(outDir, { recursive: true });
const file = join(outDir, 'results.json');
let previous: Record<string, unknown> = {};
if (only.length > 0 && existsSync(file)) {
  try {
    previous = (JSON.parse(readFileSync(file, 'utf8')) as { results?: Record<string, unknown> }).results ?? {};
  } catch {
    previous = {};
  }
}
const out = {
  date: new Date().toISOString(),
  machine: {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
  },
  quick,
  command,
  results: { ...previous, ...results },
};
writeFileSync(file, `${JSON.stringify(out, null, 2)}\n`);
writeFileSync(join(outDir, 'results.svg'), buildChart(out as ResultsFile));
process.stdout.write(
  `\nwrote ${relative(process.cwd(), file)} and results.svg beside it (${Object.keys(results).length} scenarios${failed ? `, ${failed} failed` : ''})\n`,
);
process.exit(failed ? 1 : 0);
