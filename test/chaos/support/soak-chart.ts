import { escapeXml } from '../../../bench/support/chart.js';
import type { SoakResult } from './soak.js';

/**
 * test-artifacts/soak/soak.svg from a soak result: two panels over the run's time, memory (API
 * RSS, API heap used, worker RSS, MiB) and p99 latency per operation (ms, one line each), with the
 * warm-up shaded and the first/last quarters the verdicts compare marked. Self-contained SVG in
 * the style of bench/support/chart.ts (no dependencies; opens in a browser or a pull request).
 */
const WIDTH = 980;
const LEFT = 70;
const RIGHT = 200;
const PLOT_W = WIDTH - LEFT - RIGHT;
const PLOT_H = 240;
const PALETTE = ['#2563eb', '#dc2626', '#16a34a', '#9333ea', '#ea580c', '#0891b2', '#ca8a04', '#db2777', '#4b5563'];

type Series = { label: string; points: [number, number][] };

const fmt = (n: number) => (Math.abs(n) >= 100 ? String(Math.round(n)) : String(Math.round(n * 10) / 10));
const text = (x: number, y: number, s: string, attrs = '') =>
  `<text x="${x}" y="${y}"${attrs ? ` ${attrs}` : ''}>${escapeXml(s)}</text>`;

/** A "nice" upper bound for an axis (1, 2, 2.5 or 5 × 10^n). */
function niceMax(v: number): number {
  if (v <= 0) return 1;
  const e = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (v <= m * e) return m * e;
  return 10 * e;
}

function panel(
  top: number,
  title: string,
  unit: string,
  series: Series[],
  tMax: number,
  marks: { warmup: number; firstEnd?: number; lastStart?: number },
  /** Logarithmic y axis (latencies: a 10 s outlier must not flatten every 50 ms line). */
  log = false,
): string[] {
  const parts: string[] = [];
  const values = series.flatMap((s) => s.points.map((p) => p[1]));
  const yMax = log ? 10 ** Math.ceil(Math.log10(Math.max(10, ...values))) : niceMax(Math.max(1, ...values) * 1.05);
  const yMin = log ? 10 ** Math.floor(Math.log10(Math.max(0.1, Math.min(yMax / 10, ...values)))) : 0;
  const x = (t: number) => LEFT + (t / (tMax || 1)) * PLOT_W;
  const y = (v: number) =>
    log
      ? top +
        PLOT_H -
        ((Math.log10(Math.max(v, yMin)) - Math.log10(yMin)) / (Math.log10(yMax) - Math.log10(yMin))) * PLOT_H
      : top + PLOT_H - (v / yMax) * PLOT_H;
  parts.push(text(LEFT, top - 10, title, 'class="h2"'));
  // Warm-up, and the quarters compared.
  parts.push(
    `<rect x="${LEFT}" y="${top}" width="${(x(marks.warmup) - LEFT).toFixed(1)}" height="${PLOT_H}" fill="#f3f4f6"/>`,
    text(LEFT + 4, top + 12, 'warm-up', 'class="small muted"'),
  );
  if (marks.firstEnd !== undefined) {
    parts.push(
      `<rect x="${x(marks.warmup).toFixed(1)}" y="${top}" width="${(x(marks.firstEnd) - x(marks.warmup)).toFixed(1)}" height="${PLOT_H}" fill="#eff6ff"/>`,
      text(x(marks.warmup) + 4, top + 12, 'first quarter', 'class="small muted"'),
    );
  }
  if (marks.lastStart !== undefined) {
    parts.push(
      `<rect x="${x(marks.lastStart).toFixed(1)}" y="${top}" width="${(x(tMax) - x(marks.lastStart)).toFixed(1)}" height="${PLOT_H}" fill="#eff6ff"/>`,
      text(x(marks.lastStart) + 4, top + 12, 'last quarter', 'class="small muted"'),
    );
  }
  // Axes and grid.
  const ticks = log
    ? Array.from({ length: Math.round(Math.log10(yMax / yMin)) + 1 }, (_, i) => yMin * 10 ** i)
    : [0, 1, 2, 3, 4].map((i) => (yMax / 4) * i);
  for (const v of ticks) {
    parts.push(
      `<line x1="${LEFT}" y1="${y(v).toFixed(1)}" x2="${LEFT + PLOT_W}" y2="${y(v).toFixed(1)}" stroke="#e5e7eb"/>`,
      text(LEFT - 6, y(v) + 4, fmt(v), 'class="small" text-anchor="end"'),
    );
  }
  const tStep = niceMax(tMax / 6) / (niceMax(tMax / 6) > tMax / 3 ? 2 : 1);
  for (let t = 0; t <= tMax + 1e-9; t += tStep) {
    parts.push(text(x(t), top + PLOT_H + 16, `${fmt(t)} s`, 'class="small" text-anchor="middle"'));
  }
  parts.push(
    `<rect x="${LEFT}" y="${top}" width="${PLOT_W}" height="${PLOT_H}" fill="none" stroke="#9ca3af"/>`,
    text(
      16,
      top + PLOT_H / 2,
      unit,
      `class="small" transform="rotate(-90 16 ${top + PLOT_H / 2})" text-anchor="middle"`,
    ),
  );
  series.forEach((s, i) => {
    const color = PALETTE[i % PALETTE.length];
    if (s.points.length > 0) {
      const d = s.points.map(([t, v], j) => `${j ? 'L' : 'M'}${x(t).toFixed(1)},${y(v).toFixed(1)}`).join(' ');
      parts.push(
        `<path class="series" data-series="${escapeXml(s.label)}" d="${d}" fill="none" stroke="${color}" stroke-width="1.8"><title>${escapeXml(s.label)}</title></path>`,
      );
      for (const [t, v] of s.points) {
        parts.push(
          `<circle cx="${x(t).toFixed(1)}" cy="${y(v).toFixed(1)}" r="2" fill="${color}"><title>${escapeXml(`${s.label} at ${t} s: ${fmt(v)} ${unit}`)}</title></circle>`,
        );
      }
    }
    const ly = top + 10 + i * 16;
    const last = s.points.at(-1)?.[1];
    parts.push(
      `<rect x="${LEFT + PLOT_W + 14}" y="${ly - 8}" width="12" height="3" fill="${color}"/>`,
      text(LEFT + PLOT_W + 32, ly - 3, `${s.label}${last === undefined ? '' : ` (${fmt(last)})`}`, 'class="small"'),
    );
  });
  return parts;
}

/** The whole SVG document for a soak result. */
export function buildSoakChart(r: SoakResult): string {
  const samples = r.samples;
  const tMax = Math.max(1, ...samples.map((s) => s.t));
  const warmup = Number(r.config.warmupMs ?? 0) / 1000;
  const measured = samples.filter((s) => s.t > warmup);
  const marks: { warmup: number; firstEnd?: number; lastStart?: number } = { warmup: Math.min(warmup, tMax) };
  if (measured.length >= 2) {
    const q = (measured.at(-1)!.t - measured[0].t) / 4;
    marks.firstEnd = measured[0].t + q;
    marks.lastStart = measured.at(-1)!.t - q;
  }
  const line = (label: string, get: (s: (typeof samples)[number]) => number | null | undefined): Series => ({
    label,
    points: samples.flatMap((s) => {
      const v = get(s);
      return typeof v === 'number' ? [[s.t, v] as [number, number]] : [];
    }),
  });
  const memory = [
    line('API RSS', (s) => s.api.rssMiB),
    line('API heap used', (s) => s.api.heapUsedMiB),
    line('worker RSS', (s) => s.worker.rssMiB),
  ];
  const ops = [...new Set(samples.flatMap((s) => Object.keys(s.ops)))].sort();
  const latency = ops.map((op) => line(op, (s) => s.ops[op]?.p99));
  const cfg = r.config as { machine?: { cpus?: number; node?: string }; durationMs?: number };
  const verdict = `${r.pass ? 'PASS' : 'FAIL'}: ${r.verdicts.filter((v) => !v.pass).length} of ${r.verdicts.length} checks failed`;
  const sub = [
    r.startedAt,
    cfg.durationMs ? `${Math.round(cfg.durationMs / 6000) / 10} min` : '',
    cfg.machine?.cpus ? `${cfg.machine.cpus} CPUs` : '',
    cfg.machine?.node,
    r.aborted ? 'aborted early' : '',
    verdict,
  ]
    .filter(Boolean)
    .join(' · ');
  const parts = [
    text(16, 32, 'npm run soak: memory and p99 latency over time', 'class="h1"'),
    text(16, 52, sub, 'class="muted"'),
    ...panel(100, 'Memory (MiB)', 'MiB', memory, tMax, marks),
    ...panel(
      100 + PLOT_H + 70,
      'p99 latency per operation, per sample window (ms, log scale)',
      'ms',
      latency,
      tMax,
      marks,
      true,
    ),
  ];
  const height = 100 + 2 * PLOT_H + 70 + 40;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="system-ui, -apple-system, 'Segoe UI', sans-serif" font-size="12" fill="#111827">`,
    '<style>.h1{font-size:18px;font-weight:600}.h2{font-size:14px;font-weight:600}.muted{fill:#6b7280}.small{font-size:11px}</style>',
    `<rect width="${WIDTH}" height="${height}" fill="#ffffff"/>`,
    ...parts,
    '</svg>',
    '',
  ].join('\n');
}
