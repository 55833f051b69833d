// One autocannon run in a process of its own, so that the load generator never shares the event
// loop of the server it measures (bench/support/load.ts starts it). Options arrive as JSON in
// argv[2]; the result leaves as one JSON line on stdout.
import autocannon from 'autocannon';

const options = JSON.parse(process.argv[2]);
const r = await autocannon({
  url: options.url,
  method: 'POST',
  headers: { 'content-type': 'application/json', ...options.headers },
  body: options.body,
  connections: options.connections,
  duration: options.seconds,
});
process.stdout.write(
  `${JSON.stringify({
    rps: Math.round(r['2xx'] / r.duration),
    p50Ms: r.latency.p50,
    p99Ms: r.latency.p99,
    ok: r['2xx'],
    failed: r.non2xx + r.errors + r.timeouts,
  })}\n`,
);
