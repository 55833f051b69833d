// One client sending the same request n times in a row (after `warmup` unmeasured ones), in a
// process of its own, so that its parsing and timing never run on the server's event loop
// (bench/support/load.ts starts it). Options arrive as JSON in argv[2]; the latencies (ms) leave
// as one JSON line on stdout. A response with GraphQL errors stops the run.
const o = JSON.parse(process.argv[2]);
const once = async () => {
  const res = await fetch(o.url, { method: 'POST', headers: o.headers, body: o.body });
  const json = await res.json();
  if (json.errors) throw new Error(`request failed: ${JSON.stringify(json.errors).slice(0, 1000)}`);
};
for (let i = 0; i < o.warmup; i++) await once();
const samples = [];
for (let i = 0; i < o.n; i++) {
  const t = performance.now();
  await once();
  samples.push(performance.now() - t);
}
process.stdout.write(`${JSON.stringify(samples)}\n`);
