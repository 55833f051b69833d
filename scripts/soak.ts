// `npm run soak -- [--minutes 20] [--out test-artifacts/soak] [--rate-scale 1] [--upload-seconds 30]`:
// the reliability suite's soak (issue 9), a mixed workload against one API and one worker process
// for N minutes, then a drift verdict per metric, test-artifacts/soak/soak.json and soak.svg.
// Needs PostgreSQL (DATABASE_URL, default postgresql://postgres@127.0.0.1:5432/test: a database of
// its own is created there and dropped) and Redis (REDIS_URL, default redis://127.0.0.1:6379: keys
// under prefixes of its own, deleted afterwards). Exit code 1 when a check fails or any request
// ended with an unexpected error. The core is test/chaos/support/soak.ts.
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { formatSoakSummary, runSoak, writeSoakArtifacts } from '../test/chaos/support/soak.js';

process.env.NODE_ENV = 'test';

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '20' },
    out: { type: 'string', default: 'test-artifacts/soak' },
    'rate-scale': { type: 'string', default: '1' },
    'upload-seconds': { type: 'string', default: '30' },
    'sample-seconds': { type: 'string' },
    'warmup-seconds': { type: 'string' },
  },
});
const minutes = Number(values.minutes);
const rateScale = Number(values['rate-scale']);
if (!(minutes > 0) || !(rateScale > 0)) {
  process.stderr.write('usage: npm run soak -- [--minutes N] [--out DIR] [--rate-scale X]\n');
  process.exit(2);
}
const seconds = (v: string | undefined) => (v === undefined ? undefined : Number(v) * 1000);

// First Ctrl-C: stop the load, clean up, and report what was measured. Second: leave now.
const controller = new AbortController();
let interrupts = 0;
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    if (++interrupts > 1) process.exit(130);
    process.stderr.write(`\n[soak] ${sig}: stopping the load and cleaning up (again to quit now)\n`);
    controller.abort();
  });
}

try {
  const result = await runSoak({
    durationMs: minutes * 60_000,
    rateScale,
    uploadEveryMs: seconds(values['upload-seconds']),
    sampleEveryMs: seconds(values['sample-seconds']),
    warmupMs: seconds(values['warmup-seconds']),
    signal: controller.signal,
  });
  const files = writeSoakArtifacts(result, resolve(values.out));
  process.stdout.write(`\n${formatSoakSummary(result)}\n\nwrote ${files.json} and ${files.svg}\n`);
  process.exitCode = result.pass && !result.aborted ? 0 : 1;
} catch (err) {
  process.stderr.write(`[soak] failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
}
// Everything it started is stopped by now; a client library's lingering timer must not hold the exit.
process.exit(process.exitCode);
