/**
 * The shape every benchmark scenario has. `npm run bench` (bench/run.ts) loads each
 * `bench/scenarios/*.bench.ts`, runs it, prints its figures and writes them all to
 * bench/results.json. A scenario measures its own baseline in the same run, so its figures are
 * ratios that mean the same on any machine; targets are judged here, never in tests.
 */
export type BenchTarget = {
  /** What is compared, e.g. "predict p50 overhead over session.run (ms)". */
  name: string;
  value: number;
  /** The target in words, e.g. "<= 1". */
  target: string;
  pass: boolean;
};

export type BenchResult = {
  /**
   * Named figures, numbers only (results.json is read by programs): latencies as a `<label> p50
   * <unit>` and `<label> p99 <unit>` pair (`latency()`), throughputs per second, bytes, ratios.
   */
  metrics: Record<string, number>;
  targets?: BenchTarget[];
  notes?: string[];
};

export type BenchContext = {
  /** Progress lines for the person watching. */
  log: (message: string) => void;
  /** `--quick`: shorter runs, for a smoke check that the scenario still works. */
  quick: boolean;
};

export type BenchScenario = {
  /** Short id, e.g. `predict-overhead`; `npm run bench -- predict-overhead` runs only it. */
  name: string;
  title: string;
  run(ctx: BenchContext): Promise<BenchResult>;
};

/** Percentile of an unsorted sample (nearest rank). */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank];
}

/** A latency figure as the two numeric metrics the chart and summary pair up again. */
export function latency(label: string, p50: number, p99: number, unit = 'ms'): Record<string, number> {
  return { [`${label} p50 ${unit}`]: p50, [`${label} p99 ${unit}`]: p99 };
}

export const round = (n: number, digits = 3) => Math.round(n * 10 ** digits) / 10 ** digits;
