import type { BenchResult } from '../harness.js';

/**
 * bench/results.svg from bench/results.json: one panel per scenario with its latency figures
 * (p50 and p99 bars, per unit) and its ratios against the baseline it measured in the same run
 * (one bar each, with a line at 1.0; green where a target with that value passed, red where it
 * missed). Self-contained SVG, no dependencies: it opens in a browser or a pull request.
 *
 * Scenarios report free-form figures (bench/harness.ts), so the chart reads two conventions
 * they follow: a latency is a metric named `… p50 / p99 <unit>` (or `(<unit>)`) whose value is
 * `"<p50> / <p99>"`; a ratio is a numeric metric whose name says `ratio` or `/ baseline`.
 */
export type ResultsFile = {
  date?: string;
  machine?: { cpus?: number; cpuModel?: string; node?: string };
  quick?: boolean;
  results: Record<string, BenchResult & { title?: string; seconds?: number; date?: string }>;
};

export type LatencyBar = { label: string; unit: string; p50: number; p99: number };
export type RatioBar = { label: string; value: number; pass?: boolean };
export type ScenarioSeries = { name: string; title: string; latencies: LatencyBar[]; ratios: RatioBar[] };

/** `<label> p50 <unit>`, whose partner is `<label> p99 <unit>` (bench/harness.ts `latency()`). */
const P50_KEY = /^(.*?) p50 (\S+)$/;

/** The bars one scenario's result gives (empty lists when it follows neither convention). */
export function seriesOf(name: string, result: ResultsFile['results'][string]): ScenarioSeries {
  const latencies: LatencyBar[] = [];
  const ratios: RatioBar[] = [];
  const metrics = result.metrics ?? {};
  for (const [key, value] of Object.entries(metrics)) {
    const lat = P50_KEY.exec(key);
    const p99 = lat ? metrics[`${lat[1]} p99 ${lat[2]}`] : undefined;
    if (lat && typeof p99 === 'number') {
      latencies.push({ label: lat[1].trim() || name, unit: lat[2], p50: value, p99 });
    } else if (/ p99 \S+$/.test(key) && typeof metrics[key.replace(/ p99 (\S+)$/, ' p50 $1')] === 'number') {
      continue;
    } else if (typeof value === 'number' && Number.isFinite(value) && /ratio|\/ baseline/i.test(key)) {
      const target = result.targets?.find((t) => t.value === value);
      ratios.push({ label: key.replace(/^throughput ratio\s*/i, ''), value, pass: target?.pass });
    }
  }
  return { name, title: result.title ?? name, latencies, ratios };
}

const WIDTH = 980;
const LABEL_W = 380;
const BAR_X = LABEL_W + 20;
const BAR_W = 440;
const COLORS = { p50: '#2563eb', p99: '#93c5fd', ratio: '#6b7280', pass: '#16a34a', miss: '#dc2626' };

/** Escapes text for SVG element content and attribute values. */
export function escapeXml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!,
  );
}

const fmt = (n: number) => (Math.abs(n) >= 100 ? String(Math.round(n)) : String(Math.round(n * 100) / 100));
const clip = (s: string, max: number) => (s.length > max ? `${s.slice(0, max - 1)}…` : s);
const text = (x: number, y: number, s: string, attrs = '') =>
  `<text x="${x}" y="${y}"${attrs ? ` ${attrs}` : ''}>${escapeXml(s)}</text>`;

/** The whole SVG document for a results file. */
export function buildChart(file: ResultsFile): string {
  const parts: string[] = [];
  let y = 36;
  parts.push(text(16, y, 'npm run bench: latency (p50 / p99) and ratios vs baseline', 'class="h1"'));
  y += 20;
  const m = file.machine ?? {};
  const sub = [file.date, m.cpus ? `${m.cpus} CPUs` : '', m.cpuModel, m.node, file.quick ? 'quick run' : '']
    .filter(Boolean)
    .join(' · ');
  parts.push(text(16, y, sub, 'class="muted"'));
  y += 14;
  parts.push(
    `<rect x="${BAR_X}" y="${y}" width="12" height="10" fill="${COLORS.p50}"/>`,
    text(BAR_X + 16, y + 9, 'p50', 'class="small"'),
    `<rect x="${BAR_X + 50}" y="${y}" width="12" height="10" fill="${COLORS.p99}"/>`,
    text(BAR_X + 66, y + 9, 'p99', 'class="small"'),
    `<rect x="${BAR_X + 100}" y="${y}" width="12" height="10" fill="${COLORS.pass}"/>`,
    text(BAR_X + 116, y + 9, 'ratio, target met', 'class="small"'),
    `<rect x="${BAR_X + 220}" y="${y}" width="12" height="10" fill="${COLORS.miss}"/>`,
    text(BAR_X + 236, y + 9, 'ratio, target missed', 'class="small"'),
  );
  y += 16;

  for (const [name, result] of Object.entries(file.results)) {
    const s = seriesOf(name, result);
    y += 28;
    parts.push(`<g class="scenario" data-scenario="${escapeXml(name)}">`);
    parts.push(text(16, y, name, 'class="h2"'));
    parts.push(text(16 + name.length * 9 + 16, y, clip(s.title, 95), 'class="muted"'));
    if (s.latencies.length === 0 && s.ratios.length === 0) {
      y += 20;
      parts.push(text(32, y, 'no latency or ratio figures in this result', 'class="muted"'));
    }
    // One scale per unit within a scenario: µs and ms figures never share an axis.
    const maxByUnit = new Map<string, number>();
    for (const l of s.latencies) maxByUnit.set(l.unit, Math.max(maxByUnit.get(l.unit) ?? 0, l.p50, l.p99));
    for (const l of s.latencies) {
      y += 8;
      const scale = BAR_W / (maxByUnit.get(l.unit) || 1);
      parts.push(text(LABEL_W, y + 13, clip(`${l.label} (${l.unit})`, 56), 'text-anchor="end"'));
      for (const [i, which] of (['p50', 'p99'] as const).entries()) {
        const w = Math.max(1, l[which] * scale);
        const by = y + i * 11;
        parts.push(
          `<rect class="bar ${which}" x="${BAR_X}" y="${by}" width="${w.toFixed(1)}" height="10" fill="${COLORS[which]}"><title>${escapeXml(`${l.label} ${which}: ${l[which]} ${l.unit}`)}</title></rect>`,
          text(BAR_X + w + 6, by + 9, `${which} ${fmt(l[which])} ${l.unit}`, 'class="small"'),
        );
      }
      y += 22;
    }
    if (s.ratios.length > 0) {
      const max = Math.max(1.25, ...s.ratios.map((r) => r.value));
      const scale = BAR_W / max;
      // The 1.0 line first, so the bars' value labels are drawn over it.
      const x1 = (BAR_X + scale).toFixed(1);
      const bottom = y + s.ratios.length * 22 + 4;
      parts.push(
        `<line x1="${x1}" y1="${y + 6}" x2="${x1}" y2="${bottom}" stroke="#111827" stroke-dasharray="3 3"/>`,
        text(BAR_X + scale - 4, bottom + 12, '1.0 = baseline', 'class="small" text-anchor="end"'),
      );
      for (const r of s.ratios) {
        y += 8;
        const w = Math.max(1, r.value * scale);
        const fill = r.pass === undefined ? COLORS.ratio : r.pass ? COLORS.pass : COLORS.miss;
        parts.push(
          text(LABEL_W, y + 11, clip(`${r.label} (ratio)`, 56), 'text-anchor="end"'),
          `<rect class="bar ratio" x="${BAR_X}" y="${y}" width="${w.toFixed(1)}" height="14" fill="${fill}"><title>${escapeXml(`${r.label}: ${r.value}`)}</title></rect>`,
          text(
            BAR_X + w + 6,
            y + 11,
            `${fmt(r.value)}×${r.pass === undefined ? '' : r.pass ? ' PASS' : ' MISS'}`,
            'class="small v"',
          ),
        );
        y += 14;
      }
      y += 14;
    }
    parts.push('</g>');
  }
  y += 24;

  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${y}" viewBox="0 0 ${WIDTH} ${y}" font-family="system-ui, -apple-system, 'Segoe UI', sans-serif" font-size="12" fill="#111827">`,
    '<style>.h1{font-size:18px;font-weight:600}.h2{font-size:14px;font-weight:600}.muted{fill:#6b7280}.small{font-size:11px}.v{paint-order:stroke;stroke:#fff;stroke-width:3px}</style>',
    `<rect width="${WIDTH}" height="${y}" fill="#ffffff"/>`,
    ...parts,
    '</svg>',
    '',
  ].join('\n');
}
