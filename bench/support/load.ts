import autocannon from 'autocannon';

export type LoadResult = { rps: number; p50Ms: number; p99Ms: number; ok: number; failed: number };

/**
 * A bounded load run against a loopback URL with autocannon: `connections` clients in a closed
 * loop for `seconds`, POSTing the same body. Loopback only (the workplace forbids other targets).
 */
export async function load(options: {
  url: string;
  body: string;
  headers?: Record<string, string>;
  connections: number;
  seconds: number;
}): Promise<LoadResult> {
  const host = new URL(options.url).hostname;
  if (!['127.0.0.1', 'localhost', '::1'].includes(host)) throw new Error(`load target must be loopback: ${host}`);
  const r = await autocannon({
    url: options.url,
    method: 'POST',
    headers: { 'content-type': 'application/json', ...options.headers },
    body: options.body,
    connections: options.connections,
    duration: options.seconds,
  });
  return {
    rps: Math.round(r['2xx'] / r.duration),
    p50Ms: r.latency.p50,
    p99Ms: r.latency.p99,
    ok: r['2xx'],
    failed: r.non2xx + r.errors + r.timeouts,
  };
}
