import { createProgress } from '../../bench/support/progress.js';
import { summaryTable } from '../../bench/support/summary.js';

/** What `npm run bench` prints: progress while it runs, a summary table at its end. */
describe('bench output', () => {
  it('summarises each scenario with its time, targets and key figures, then every target', () => {
    const table = summaryTable([
      {
        name: 'catalog',
        seconds: 41.2,
        result: {
          metrics: { 'ours p50 ms': 1734, 'ours p99 ms': 4150, 'throughput ratio ours / bare': 0.11 },
          targets: [
            { name: 'SQL statements per page', value: 7, target: '<= 8', pass: true },
            { name: 'throughput ours / bare', value: 0.11, target: '>= 1', pass: false },
          ],
        },
      },
      { name: 'search', seconds: 36, result: { metrics: { 'full-text p50 / baseline p50': 1.46 } } },
      { name: 'upload', seconds: 2.5, error: 'disk full' },
    ]);
    const lines = table.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^scenario\s+time\s+targets\s+key figures$/);
    expect(lines[2]).toMatch(/^catalog\s+41\.2s\s+1\/2 MISS\s+ours \/ bare 0\.11×; ours p50\/p99 1734\/4150 ms$/);
    expect(lines[3]).toMatch(/^search\s+36s\s+—\s+full-text p50 \/ baseline p50 1\.46×$/);
    expect(lines[4]).toMatch(/^upload\s+2\.5s\s+ERROR\s+disk full$/);
    // Columns line up: every row's second column starts where the header's does.
    const col = lines[0].indexOf('time');
    for (const l of lines.slice(2, 5)) expect(l.slice(col - 2, col)).toBe('  ');
    expect(lines.slice(6)).toEqual([
      'PASS  catalog: SQL statements per page = 7 (target <= 8)',
      'MISS  catalog: throughput ours / bare = 0.11 (target >= 1)',
    ]);
  });

  it('stamps progress lines with the elapsed seconds of their scenario, with no status line in a pipe', () => {
    let t = 0;
    let written = '';
    const p = createProgress(2, { write: (s: string) => (written += s), isTTY: false }, () => t);
    p.start(1, 'search', 'Search latency');
    t = 1500;
    p.log('seeding');
    p.start(2, 'upload', 'Model upload');
    t = 4000;
    p.log('uploading');
    p.stop();
    expect(written).toBe(
      '\n[1/2] Search latency\n    +  1.5s  seeding\n\n[2/2] Model upload\n    +  2.5s  uploading\n',
    );
  });

  it('keeps a status line under the progress lines on a terminal', () => {
    let t = 0;
    let written = '';
    const p = createProgress(3, { write: (s: string) => (written += s), isTTY: true }, () => t);
    p.start(2, 'catalog', 'Catalog page');
    t = 65_000;
    p.log('bare Apollo');
    p.stop();
    expect(written).toContain('\r\x1b[2K[2/3] catalog · 0s in scenario · 0s in all');
    expect(written).toContain('\r\x1b[2K    + 65.0s  bare Apollo\n\r\x1b[2K[2/3] catalog · 1m 05s in scenario');
    expect(written.endsWith('\r\x1b[2K')).toBe(true);
  });
});
