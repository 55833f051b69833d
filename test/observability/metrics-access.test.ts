// `GET /metrics` names models, operations and traffic: it is served behind METRICS_TOKEN (a
// bearer token) or on a METRICS_PORT of its own, open only outside production with neither.
import { sparePort } from '../chaos/support/spare-port.js';
import { startTestServer } from '../support/test-server.js';

const TOKEN = 'metrics-token-for-the-test-0123456789';
const PRODUCTION = { NODE_ENV: 'production', JWT_SECRET: `k1:${'s'.repeat(43)}` };

type Probe = { port: 'api' | 'metrics'; bearer?: string; status: number };

const CASES: [string, Record<string, string>, Probe[]][] = [
  ['outside production, neither set: open', {}, [{ port: 'api', status: 200 }]],
  ['in production, neither set: not served', PRODUCTION, [{ port: 'api', status: 404 }]],
  [
    'METRICS_TOKEN: the bearer token only',
    { METRICS_TOKEN: TOKEN },
    [
      { port: 'api', status: 401 },
      { port: 'api', bearer: 'wrong', status: 401 },
      { port: 'api', bearer: `${TOKEN}x`, status: 401 },
      { port: 'api', bearer: TOKEN, status: 200 },
    ],
  ],
  [
    'METRICS_TOKEN in production',
    { ...PRODUCTION, METRICS_TOKEN: TOKEN },
    [
      { port: 'api', status: 401 },
      { port: 'api', bearer: TOKEN, status: 200 },
    ],
  ],
  [
    'METRICS_PORT: on that port, not the API’s',
    { ...PRODUCTION, METRICS_PORT: 'spare' },
    [
      { port: 'api', status: 404 },
      { port: 'metrics', status: 200 },
    ],
  ],
  [
    'METRICS_PORT and METRICS_TOKEN: on that port, with the token',
    { METRICS_PORT: 'spare', METRICS_TOKEN: TOKEN },
    [
      { port: 'api', status: 404 },
      { port: 'metrics', status: 401 },
      { port: 'metrics', bearer: TOKEN, status: 200 },
    ],
  ],
];

it.each(CASES)('%s', async (_label, env, probes) => {
  const metricsPort = env.METRICS_PORT === 'spare' ? await sparePort() : undefined;
  const server = await startTestServer({ ...env, ...(metricsPort ? { METRICS_PORT: String(metricsPort) } : {}) });
  try {
    for (const probe of probes) {
      const origin = probe.port === 'api' ? server.origin : `http://127.0.0.1:${metricsPort}`;
      const res = await fetch(`${origin}/metrics`, {
        headers: probe.bearer ? { authorization: `Bearer ${probe.bearer}` } : {},
      });
      expect({ ...probe, status: res.status }).toEqual(probe);
      const body = await res.text();
      if (res.status === 200) expect(body).toContain('# TYPE');
      else expect(body).not.toContain('# TYPE');
    }
  } finally {
    await server.close();
  }
});
