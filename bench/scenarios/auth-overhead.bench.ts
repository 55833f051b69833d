import '../support/bench-env.js';
import { AccessTokenService } from '../../src/auth/access-token.service.js';
import { ApiKeyService } from '../../src/auth/api-key.service.js';
import { Role } from '../../src/entities/enums.js';
import { apiKeyFor, tokenFor } from '../../test/support/auth.js';
import { Factory } from '../../test/support/factories.js';
import { startTestServer } from '../../test/support/test-server.js';
import type { BenchScenario } from '../harness.js';
import { latency, percentile, round } from '../harness.js';
import { load, type LoadResult } from '../support/load.js';

/**
 * What authentication costs per request. The same tiny operation (`{ __typename }`: no resolver,
 * no SQL, so the credential check is a large share of the work) is loaded three ways in one run:
 * anonymous (the baseline), with `Authorization: Bearer <JWT>` (signature and claims checked, and
 * the user's row read once per USER_STATUS_CACHE_SECONDS: src/auth/user-status-cache.ts), and with `X-API-Key` (SHA-256 and one indexed lookup joined to the owner; lastUsedAt
 * writes coalesced to one a minute). Also timed in-process without HTTP: one JWT verification
 * and one API-key lookup. Rate limits are off so that only authentication differs.
 */
export const scenario: BenchScenario = {
  name: 'auth-overhead',
  title: 'Auth overhead per request: JWT verify and API-key lookup vs the same request unauthenticated',
  async run({ log, quick }) {
    const seconds = quick ? 3 : 8;
    const connections = 16;
    const server = await startTestServer({ RATE_LIMIT_ENABLED: 'false' });
    try {
      const user = await new Factory(server.app).user({ role: Role.CONSUMER });
      const token = await tokenFor(server.app, user);
      const secret = await apiKeyFor(server.app, user, ['models:read']);
      const { tokens, apiKeys } = server.app.services.auth;

      // In-process: the checks alone.
      const time = async (n: number, fn: () => Promise<unknown>) => {
        for (let i = 0; i < Math.min(200, n); i++) await fn(); // warm-up
        const samples: number[] = [];
        for (let i = 0; i < n; i++) {
          const t = performance.now();
          await fn();
          samples.push(performance.now() - t);
        }
        return { p50: round(percentile(samples, 50) * 1000, 1), p99: round(percentile(samples, 99) * 1000, 1) };
      };
      const n = quick ? 500 : 5000;
      log(`in-process: ${n} JWT verifications, ${n} API-key lookups`);
      const jwt = await time(n, () => tokens.verify(token));
      const key = await time(n, () => apiKeys.authenticate(server.app.db.orm.em.fork(), secret));
      // The first sight of a credential (or a replica without it cached): full checks every time.
      const cfg = server.app.config.auth;
      const uncachedTokens = new AccessTokenService(cfg.jwt, () => tokens.keys());
      const jwtCold = await time(n, () =>
        (
          uncachedTokens as unknown as { verifySignatureAndClaims(t: string): Promise<unknown> }
        ).verifySignatureAndClaims(token),
      );
      const uncachedKeys = new ApiKeyService({ ...cfg, apiKeyCacheSeconds: 0 });
      const keyCold = await time(Math.min(n, 1000), () =>
        uncachedKeys.authenticate(server.app.db.orm.em.fork(), secret),
      );

      const body = JSON.stringify({ query: '{ __typename }' });
      const run = async (name: string, headers: Record<string, string>) => {
        const check = await server.gql('{ __typename }', {}, headers);
        if (check.errors) throw new Error(`${name}: ${JSON.stringify(check.errors)}`);
        log(`${name}: ${connections} connections for ${seconds}s`);
        return load({ url: server.url, body, headers, connections, seconds });
      };
      // Interleaved rounds, best of each: on a shared machine, load from elsewhere lowers single
      // runs at random, and the best run is the one least disturbed.
      const rounds = quick ? 2 : 3;
      const best = { anonymous: [] as LoadResult[], bearer: [] as LoadResult[], apiKey: [] as LoadResult[] };
      for (let r = 0; r < rounds; r++) {
        best.anonymous.push(await run(`anonymous (round ${r + 1})`, {}));
        best.bearer.push(await run(`bearer JWT (round ${r + 1})`, { authorization: `Bearer ${token}` }));
        best.apiKey.push(await run(`X-API-Key (round ${r + 1})`, { 'x-api-key': secret }));
      }
      const top = (xs: LoadResult[]) => xs.reduce((a, b) => (b.rps > a.rps ? b : a));
      const anonymous = top(best.anonymous);
      const bearer = top(best.bearer);
      const apiKey = top(best.apiKey);
      const baseline = anonymous.rps;
      const perRequestMs = (rps: number) => round((1000 / rps - 1000 / baseline) * connections, 3);
      const failed = (xs: LoadResult[]) => xs.reduce((n, x) => n + x.failed, 0);

      return {
        metrics: {
          ...latency('jwt verify in-process, cached', jwt.p50, jwt.p99, 'µs'),
          ...latency('jwt verify in-process, signature checked', jwtCold.p50, jwtCold.p99, 'µs'),
          ...latency('api-key lookup in-process, cached', key.p50, key.p99, 'µs'),
          ...latency('api-key lookup in-process, from the database', keyCold.p50, keyCold.p99, 'µs'),
          'anonymous requests/s (best round)': anonymous.rps,
          'bearer JWT requests/s (best round)': bearer.rps,
          'X-API-Key requests/s (best round)': apiKey.rps,
          ...eachRound('anonymous requests/s', best.anonymous),
          ...eachRound('bearer JWT requests/s', best.bearer),
          ...eachRound('X-API-Key requests/s', best.apiKey),
          'anonymous p50 ms': anonymous.p50Ms,
          'bearer JWT p50 ms': bearer.p50Ms,
          'X-API-Key p50 ms': apiKey.p50Ms,
          'throughput ratio JWT / anonymous': round(bearer.rps / baseline, 3),
          'throughput ratio API key / anonymous': round(apiKey.rps / baseline, 3),
          'added service time per request, JWT (ms)': perRequestMs(bearer.rps),
          'added service time per request, API key (ms)': perRequestMs(apiKey.rps),
          'failed requests, anonymous': failed(best.anonymous),
          'failed requests, bearer JWT': failed(best.bearer),
          'failed requests, X-API-Key': failed(best.apiKey),
        },
        targets: [
          {
            name: 'JWT signature verification in-process p50 (µs)',
            value: jwtCold.p50,
            target: '<= 500',
            pass: jwtCold.p50 <= 500,
          },
          {
            name: 'throughput with a JWT / anonymous',
            value: round(bearer.rps / baseline, 3),
            target: '>= 0.85',
            pass: bearer.rps / baseline >= 0.85,
          },
          {
            name: 'throughput with an API key / anonymous',
            value: round(apiKey.rps / baseline, 3),
            target: '>= 0.6',
            pass: apiKey.rps / baseline >= 0.6,
          },
        ],
        notes: [
          'The operation is deliberately trivial, so these ratios are the worst case: on a real query the same absolute cost is a smaller share.',
          'Verified JWTs are remembered by their exact text until they expire; verified API keys for API_KEY_CACHE_SECONDS (5 s: a revocation reaches other replicas within that time, this one at once).',
        ],
      };
    } finally {
      await server.close();
    }
  },
};

/** Every round's figure as its own metric (`<label>, round 1` …). */
function eachRound(label: string, results: readonly { rps: number }[]): Record<string, number> {
  return Object.fromEntries(results.map((r, i) => [`${label}, round ${i + 1}`, r.rps]));
}
