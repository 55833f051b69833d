import { buildChart, escapeXml, seriesOf, type ResultsFile } from '../../bench/support/chart.js';

/** bench/results.svg is drawn from bench/results.json by a pure function: checked here on a made-up file. */
const file: ResultsFile = {
  date: '2026-11-24T10:00:00.000Z',
  machine: { cpus: 2, cpuModel: 'Test CPU', node: 'v22.23.3' },
  results: {
    search: {
      title: 'Search <fast> & "exact"',
      metrics: {
        'models in catalog': 10000,
        'baseline NEWEST page p50 ms': 22.18,
        'baseline NEWEST page p99 ms': 76.32,
        'full-text RELEVANCE p50 ms': 32.47,
        'full-text RELEVANCE p99 ms': 56.67,
        'full-text p50 / baseline p50': 1.46,
      },
      targets: [{ name: 'full-text p50 / baseline p50', value: 1.46, target: '<= 2', pass: true }],
    },
    'auth-overhead': {
      metrics: {
        'jwt verify in-process, cached p50 µs': 1.5,
        'jwt verify in-process, cached p99 µs': 9.6,
        'throughput ratio JWT / anonymous': 0.88,
        'throughput ratio <script> / anonymous': 0.5,
      },
      targets: [{ name: 'throughput with a JWT / anonymous', value: 0.88, target: '>= 0.95', pass: false }],
    },
    upload: { metrics: { 'file size MiB': 200 } },
  },
};

describe('bench chart', () => {
  it('reads latency pairs with their unit and ratios with their target outcome', () => {
    expect(seriesOf('search', file.results.search)).toEqual({
      name: 'search',
      title: 'Search <fast> & "exact"',
      latencies: [
        { label: 'baseline NEWEST page', unit: 'ms', p50: 22.18, p99: 76.32 },
        { label: 'full-text RELEVANCE', unit: 'ms', p50: 32.47, p99: 56.67 },
      ],
      ratios: [{ label: 'full-text p50 / baseline p50', value: 1.46, pass: true }],
    });
    const auth = seriesOf('auth-overhead', file.results['auth-overhead']);
    expect(auth.latencies).toEqual([{ label: 'jwt verify in-process, cached', unit: 'µs', p50: 1.5, p99: 9.6 }]);
    expect(auth.ratios).toEqual([
      { label: 'JWT / anonymous', value: 0.88, pass: false },
      { label: '<script> / anonymous', value: 0.5, pass: undefined },
    ]);
  });

  it('draws a panel for every scenario with a p50 and a p99 bar per latency and a bar per ratio', () => {
    const svg = buildChart(file);
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    for (const name of ['search', 'auth-overhead', 'upload']) expect(svg).toContain(`data-scenario="${name}"`);
    const panel = (name: string) => svg.split(`data-scenario="${name}"`)[1].split('</g>')[0];
    const count = (s: string, cls: string) => s.split(`class="bar ${cls}"`).length - 1;
    expect([count(panel('search'), 'p50'), count(panel('search'), 'p99'), count(panel('search'), 'ratio')]).toEqual([
      2, 2, 1,
    ]);
    expect([count(panel('auth-overhead'), 'p50'), count(panel('auth-overhead'), 'ratio')]).toEqual([1, 2]);
    expect(panel('upload')).toContain('no latency or ratio figures');
    expect(panel('search')).toContain('p99 76.32 ms');
    expect(panel('auth-overhead')).toContain('0.88× MISS');
    expect(panel('search')).toContain('1.46× PASS');
    // The longest bar of a unit spans the whole bar area; the others are to scale.
    const widths = [...panel('search').matchAll(/class="bar p99"[^>]*width="([\d.]+)"/g)].map((m) => Number(m[1]));
    expect(widths[0]).toBeCloseTo(440, 0);
    expect(widths[1]).toBeCloseTo((440 * 56.67) / 76.32, 0);
  });

  it('escapes every text it takes from the results', () => {
    const svg = buildChart(file);
    expect(svg).not.toContain('<script>');
    expect(svg).not.toContain('<fast>');
    expect(svg).toContain('&lt;script&gt; / anonymous');
    expect(svg).toContain('Search &lt;fast&gt; &amp; &quot;exact&quot;');
    expect(escapeXml(`a<b>&"c'`)).toBe('a&lt;b&gt;&amp;&quot;c&apos;');
    // Only well-formed markup: every tag opened is closed.
    const opened = (svg.match(/<(g|text|rect|title|svg|style)\b(?:[^>]*[^/>])?>/g) ?? []).length;
    const closed = (svg.match(/<\/(g|text|rect|title|svg|style)>/g) ?? []).length;
    expect(opened).toBe(closed);
  });
});
