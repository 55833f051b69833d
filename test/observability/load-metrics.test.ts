import { Writable } from 'node:stream';
import autocannon from 'autocannon';
import { pino } from 'pino';
import { Factory } from '../support/factories.js';
import { startTestServer, type TestServer } from '../support/test-server.js';

/**
 * Metrics and logs under load, not just one request at a time: autocannon sends a catalog query
 * from several connections for about 3 s, and afterwards /metrics has counted each completed
 * request exactly once (per operation name and per HTTP route) and every log line written
 * meanwhile is a JSON object naming its request id, operation and duration.
 *
 * The run is a fixed number of requests at a capped rate (300 at 100/s), not a fixed duration:
 * autocannon abandons the requests in flight when a duration ends, and the server may still count
 * those, so only a run where every request gets its answer can be compared exactly.
 */
const QUERY = 'query LoadCatalog { models(first: 10) { totalCount edges { node { name } } } }';

// Twice: executed every time, and answered from the catalog response cache (an anonymous
// catalog read, src/graphql/response-cache.plugin.ts), which must not hide requests from either.
describe.each<{ cache: 'off' | 'on'; env: Record<string, string> }>([
  { cache: 'off', env: {} },
  { cache: 'on', env: { CATALOG_CACHE_TTL_MS: '60000' } },
])('with the catalog response cache $cache', ({ cache, env }) => {
  let server: TestServer;
  const lines: string[] = [];

  beforeAll(async () => {
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(...chunk.toString().split('\n').filter(Boolean));
        done();
      },
    });
    server = await startTestServer(env, { logger: pino({ level: 'info' }, sink) });
    const f = new Factory(server.app);
    const owner = await f.user({ displayName: 'Load Publisher' });
    for (let i = 0; i < 3; i++) await f.model(owner, { name: `Load Model ${i}` });
  }, 60_000);
  afterAll(() => server?.close());

  async function metricsText(): Promise<string> {
    const res = await fetch(`${server.origin}/metrics`);
    expect(res.status).toBe(200);
    return res.text();
  }

  /** The value of one series line, e.g. `graphql_operation_duration_seconds_count{...} 3`. */
  function seriesValue(text: string, name: string, labels: Record<string, string>): number {
    const line = text
      .split('\n')
      .find((l) => l.startsWith(`${name}{`) && Object.entries(labels).every(([k, v]) => l.includes(`${k}="${v}"`)));
    return line ? Number(line.split(' ').at(-1)) : 0;
  }

  const operationCount = (t: string) =>
    seriesValue(t, 'graphql_operation_duration_seconds_count', { operation: 'LoadCatalog', type: 'query' });
  const httpCount = (t: string) =>
    seriesValue(t, 'http_request_duration_seconds_count', { method: 'POST', route: '/graphql', status: '200' });

  it('counts every request of a 3-second load once in /metrics and logs each as a JSON line', async () => {
    const warm = await server.gql(QUERY);
    expect(warm.errors).toBeUndefined();
    expect(warm.data).toMatchObject({ models: { totalCount: 3 } });
    const probe = await fetch(`${server.origin}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: QUERY }),
    });
    expect(probe.headers.get('x-catalog-cache')).toBe(cache === 'on' ? 'hit' : null);

    const before = await metricsText();
    const firstLine = lines.length;
    // autocannon's typings here (bench/support/autocannon.d.ts) name only what the benches use.
    const options = {
      url: `${server.origin}/graphql`,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: QUERY }),
      connections: 4,
      amount: 300,
      overallRate: 100,
    };
    const run = await autocannon(options);
    const during = lines.slice(firstLine);
    const after = await metricsText();

    expect({ non2xx: run.non2xx, errors: run.errors, timeouts: run.timeouts }).toEqual({
      non2xx: 0,
      errors: 0,
      timeouts: 0,
    });
    expect(run['2xx']).toBe(300);
    expect(operationCount(after) - operationCount(before)).toBe(run['2xx']);
    expect(httpCount(after) - httpCount(before)).toBe(run['2xx']);

    // Every line parses, and every one carries the three fields an operator filters on.
    const entries = during.map((l) => JSON.parse(l) as Record<string, unknown>);
    const malformed = entries.filter(
      (e) =>
        typeof e.requestId !== 'string' ||
        e.requestId === '' ||
        typeof e.operation !== 'string' ||
        typeof e.durationMs !== 'number',
    );
    expect(malformed).toEqual([]);
    const operations = entries.filter((e) => e.msg === 'graphql operation' && e.operation === 'LoadCatalog');
    expect(operations).toHaveLength(run['2xx']);
    // Request ids are per request: no two log lines of the load share one.
    expect(new Set(operations.map((e) => e.requestId)).size).toBe(operations.length);
  }, 60_000);
});
