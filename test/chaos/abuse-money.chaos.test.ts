// Abuse corpus, part 5: money and stale access. Hostile amounts in every money input, races
// against the spending cap from both prediction paths at once, API keys made and rotated to
// dodge a rate limit, credentials revoked under an open WebSocket, webhook hosts probed for DNS
// answers, and forged tokens on /metrics. Each is refused with a code (never a 500), the cap is
// never passed, and no refusal tells an attacker anything.
import { ApiKey } from '../../src/entities/api-key.entity.js';
import { PredictionStatus, Role } from '../../src/entities/enums.js';
import { Model } from '../../src/entities/model.entity.js';
import { Prediction } from '../../src/entities/prediction.entity.js';
import { TARGET_REFUSED } from '../../src/webhooks/webhook-target.js';
import { storedVersion } from '../predictions/prediction-fixtures.js';
import { apiKeyFor, authHeaders } from '../support/auth.js';
import { openWs } from '../support/ws-client.js';
import { AbuseHarness, inBatches, seeded, Tally } from './support/abuse-harness.js';
import { until } from './support/spare-port.js';

const h = new AbuseHarness();
const METRICS_TOKEN = 'abuse-corpus-metrics-token-0123456789';
const X = { name: 'x', dtype: 'float32', shape: [1, 4], data: [-1, 0, 1, 2] };

beforeAll(async () => {
  await h.start({
    METRICS_TOKEN,
    RATE_LIMIT_ENABLED: 'true',
    RATE_LIMIT_UPLOAD: '3/600',
    RATE_LIMIT_PREDICT: '1000/60',
    RATE_LIMIT_MUTATION: '1000/60',
    RATE_LIMIT_QUERY: '5000/60',
    WS_MAX_SUBSCRIPTIONS_PER_CONNECTION: '100',
  });
  await h.alive();
}, 120_000);

afterAll(async () => h.close());

function expectClean(tally: Tally) {
  tally.report(tally.problems.length ? `problems: ${tally.problems.length}` : undefined);
  expect(tally.problems).toEqual([]);
}

/** Amounts no money input may take, and a few it may: generated from one seed. */
function hostileAmounts(): string[] {
  const rnd = seeded('money');
  const fixed = [
    '',
    ' ',
    '-0',
    '-0.0000000001',
    '+1',
    '1e3',
    '1E-3',
    '0x10',
    'NaN',
    'Infinity',
    '-Infinity',
    '1,000',
    '1_000',
    '１００', // full-width digits
    '٣', // Arabic-Indic digit
    '.5',
    '5.',
    '1.2.3',
    '00000000001',
    '9999999999.9999999999',
    '10000000000',
    `1${'0'.repeat(40)}`,
    `0.${'0'.repeat(50)}1`,
    '1000.0000000001',
    '1000',
    '0',
    '0.0000000001',
    '\u00001',
    '1\n',
    '${1}',
    "1'; drop table users; --",
  ];
  const random = Array.from({ length: 40 }, () => {
    const digits = (n: number) => Array.from({ length: n }, () => rnd.int(10)).join('');
    return `${rnd.pick(['', '-', '+'])}${digits(1 + rnd.int(25))}${rnd.pick(['', '.', `.${digits(1 + rnd.int(15))}`])}`;
  });
  return [...fixed, ...random];
}

it('hostile amounts in every money input: BAD_USER_INPUT or within bounds, never a 500, never stored out of bounds', async () => {
  const tally = new Tally('hostile amounts in pricePerRequest, freeRequestsPerMonth and setSpendingCap');
  const amounts = hostileAmounts();
  const model = await h.f.model(h.fx.publisher);
  let n = 0;
  await inBatches(amounts, 8, async (amount) => {
    const i = ++n;
    for (const [label, query, variables, headers] of [
      [
        'createModel',
        'mutation($s: String!, $p: String) { createModel(input: { slug: $s, name: "m", task: "t", pricePerRequest: $p }) { id } }',
        { s: `abuse-money-${i}`, p: amount },
        h.fx.publisherAuth,
      ],
      [
        'updateModel',
        'mutation($id: ID!, $p: String) { updateModel(id: $id, input: { pricePerRequest: $p }) { id } }',
        { id: model.id, p: amount },
        h.fx.publisherAuth,
      ],
      [
        'setSpendingCap',
        'mutation($a: String) { setSpendingCap(amount: $a) { id } }',
        { a: amount },
        h.fx.otherConsumerAuth,
      ],
    ] as const) {
      const res = await h.gql(query, variables, headers);
      h.check(tally, `${label}(${JSON.stringify(amount).slice(0, 40)})`, res);
      if (!['OK', 'BAD_USER_INPUT'].includes(res.outcome)) tally.problem(`${label}(${amount}): ${res.outcome}`);
    }
  });
  for (const free of [-1, 1_000_000_001, 2 ** 31, 1.5]) {
    const res = await h.gql(
      'mutation($id: ID!, $f: Int) { updateModel(id: $id, input: { freeRequestsPerMonth: $f }) { id } }',
      { id: model.id, f: free },
      h.fx.publisherAuth,
    );
    h.check(tally, `freeRequestsPerMonth(${free})`, res);
    if (res.outcome !== 'BAD_USER_INPUT') tally.problem(`freeRequestsPerMonth(${free}): ${res.outcome}`);
  }
  const [over] = await h.server.app.db.orm.em.fork().execute<{ n: string }[]>(
    `select (select count(*) from models where price_per_request > 1000)
         + (select count(*) from users where monthly_spend_cap > 1000000) as n`,
  );
  if (Number(over.n) > 0) tally.problem(`${over.n} amounts above their bound were stored`);
  expectClean(tally);
});

it('racing the spending cap from both paths and both transports at once: never billed past it', async () => {
  const tally = new Tally('concurrent predict and createPrediction (HTTP and WebSocket) under a spending cap');
  const rnd = seeded('cap-race');
  const em = () => h.server.app.db.orm.em.fork();
  const consumer = await h.f.user();
  const headers = await authHeaders(h.server.app, consumer);
  const models: Model[] = [];
  for (const price of ['0.07', '0.13', '0.25', '0']) {
    const m = await h.f.model(h.fx.publisher, { pricePerRequest: price });
    await storedVersion(h.server.app, m, 'elementwise');
    models.push(m);
  }
  await h.gql('mutation { setSpendingCap(amount: "1.00") { id } }', {}, headers);
  const ws = openWs(h.server, { authorization: headers.authorization });
  try {
    const requests = Array.from({ length: 60 }, () => ({
      model: rnd.pick(models),
      queued: rnd.next() < 0.5,
      overWs: rnd.next() < 0.5,
    }));
    await Promise.all(
      requests.map(async (r) => {
        const query = r.queued
          ? 'mutation($m: ID!, $i: [TensorInput!]!) { createPrediction(input: { modelId: $m, inputs: $i }) { id } }'
          : 'mutation($m: ID!, $i: [TensorInput!]!) { predict(modelId: $m, inputs: $i) { inferenceTimeMs } }';
        const variables = { m: r.model.id, i: [X] };
        if (r.overWs) {
          const res = await ws.run(query, variables);
          tally.add((res.errors?.[0]?.extensions?.code as string | undefined) ?? 'OK');
        } else {
          const res = await h.gql(query, variables, headers);
          h.check(tally, `${r.queued ? 'createPrediction' : 'predict'} ${r.model.pricePerRequest}`, res);
        }
      }),
    );
  } finally {
    await ws.dispose();
  }
  await until(
    async () =>
      (await em().count(Prediction, {
        user: consumer.id,
        status: { $in: [PredictionStatus.QUEUED, PredictionStatus.RUNNING] },
      })) === 0,
    'the queued jobs to finish',
  );
  const [row] = await em().execute<{ billed: string; spent: string; reserved: string }[]>(
    `select (select coalesce(sum(amount), 0) from usage_records where user_id = ?)::text as billed,
       coalesce(sum(spent), 0)::text as spent, coalesce(sum(reserved), 0)::text as reserved
     from monthly_spend where user_id = ?`,
    [consumer.id, consumer.id],
  );
  if (Number(row.billed) > 1) tally.problem(`billed ${row.billed} under a cap of 1.00`);
  if (row.billed !== row.spent) tally.problem(`usage records say ${row.billed}, the month row ${row.spent}`);
  if (Number(row.reserved) !== 0) tally.problem(`${row.reserved} still reserved after every job ended`);
  for (const code of Object.keys(tally.outcomes)) {
    if (!['OK', 'QUOTA_EXCEEDED'].includes(code)) tally.problem(`outcome ${code}`);
  }
  tally.report(`billed ${row.billed} of a 1.00 cap`);
  expect(tally.problems).toEqual([]);
});

it('new and rotated API keys to dodge a rate limit: one bucket per user, however many keys', async () => {
  const tally = new Tally('API keys created and rotated to get around the upload rate limit');
  const publisher = await h.f.user({ role: Role.PUBLISHER });
  const token = await authHeaders(h.server.app, publisher);
  const upload = (headers: Record<string, string>) =>
    h.gql(
      'mutation($f: Upload!) { uploadModelVersion(modelId: "00000000-0000-4000-8000-000000000000", version: "1.0.0", file: $f) { id } }',
      { f: null },
      headers,
    );
  let accepted = 0;
  for (let i = 0; i < 8; i++) {
    const secret = await apiKeyFor(h.server.app, publisher, ['models:write'], { name: `dodge ${i}` });
    const res = await upload({ 'x-api-key': secret });
    h.check(tally, `upload with key ${i}`, res);
    if (res.outcome !== 'RATE_LIMITED') accepted++;
    const id = (await h.server.app.db.orm.em.fork().findOneOrFail(ApiKey, { prefix: secret.slice(0, 12) })).id;
    const rotated = await h.gql('mutation($id: ID!) { rotateApiKey(id: $id) { secret } }', { id }, token);
    const again = await upload({
      'x-api-key': (rotated.body?.data as { rotateApiKey: { secret: string } }).rotateApiKey.secret,
    });
    h.check(tally, `upload with key ${i} rotated`, again);
    if (again.outcome !== 'RATE_LIMITED') accepted++;
  }
  if (accepted > 3) tally.problem(`${accepted} uploads past a limit of 3 per user`);
  expectClean(tally);
});

it('credentials revoked, rotated or closed under an open WebSocket: the next operation never runs', async () => {
  const tally = new Tally('API keys revoked or rotated, and accounts closed, while a WebSocket is open');
  const changes = ['revoke', 'rotate', 'close account'] as const;
  for (const change of changes) {
    const user = await h.f.user();
    const token = await authHeaders(h.server.app, user);
    const secret = await apiKeyFor(h.server.app, user, ['billing:read', 'predict']);
    const id = (await h.server.app.db.orm.em.fork().findOneOrFail(ApiKey, { prefix: secret.slice(0, 12) })).id;
    const ws = openWs(h.server, { apiKey: secret });
    try {
      const before = await ws.run('{ usage { requests } }');
      if (before.errors || before.closeCode) tally.problem(`${change}: refused before the change`);
      if (change === 'revoke') await h.gql('mutation($id: ID!) { revokeApiKey(id: $id) { id } }', { id }, token);
      if (change === 'rotate') await h.gql('mutation($id: ID!) { rotateApiKey(id: $id) { secret } }', { id }, token);
      if (change === 'close account') {
        await h.server.app.db.orm.em.fork().execute('update users set deleted_at = now() where id = ?', [user.id]);
        h.server.app.services.auth.userStatus.forget(user.id);
      }
      for (const query of ['{ usage { requests } }', '{ me { id } }', 'subscription { usageUpdated { requests } }']) {
        const res = await ws.run(query);
        const outcome = res.closeCode
          ? `CLOSED_${res.closeCode}`
          : ((res.errors?.[0]?.extensions?.code as string) ?? 'OK');
        tally.add(outcome);
        if (outcome === 'OK' || (res.data !== undefined && res.data !== null)) tally.problem(`${change}: ${query} ran`);
      }
      if (ws.connections !== 1) tally.problem(`${change}: the client reconnected`);
    } finally {
      await ws.dispose();
    }
  }
  expectClean(tally);
});

it('webhook hosts probed for DNS answers: one refusal for every host that is not public, naming nothing', async () => {
  const tally = new Tally('webhook URLs probing internal names and addresses');
  const model = await h.f.model(h.fx.publisher, { pricePerRequest: '0' });
  await storedVersion(h.server.app, model, 'elementwise');
  await h.server.app.db.orm.em.fork().nativeUpdate(Model, { id: model.id }, { freeRequestsPerMonth: 0 });
  const hosts = [
    'localhost',
    'localhost.localdomain',
    '127.0.0.1',
    '127.1',
    '0177.0.0.1',
    '2130706433',
    '0x7f000001',
    '10.0.0.1',
    '172.16.5.4',
    '192.168.0.1',
    '169.254.169.254',
    '[::1]',
    '[::ffff:127.0.0.1]',
    '[fd00::1]',
    'metadata.google.internal',
    'redis',
    'postgres',
    'no-such-host.invalid',
    'kubernetes.default.svc',
  ];
  const messages = new Set<string>();
  await inBatches(hosts, 5, async (host) => {
    const res = await h.gql(
      'mutation($m: ID!, $i: [TensorInput!]!, $u: String) { createPrediction(input: { modelId: $m, inputs: $i, webhookUrl: $u }) { id } }',
      { m: model.id, i: [X], u: `http://${host}:6379/hook` },
      h.fx.consumerAuth,
    );
    h.check(tally, host, res);
    if (res.outcome !== 'BAD_USER_INPUT') tally.problem(`${host}: ${res.outcome}`);
    messages.add(res.body?.errors?.[0]?.message ?? '');
  });
  if (messages.size !== 1 || !messages.has(TARGET_REFUSED)) {
    tally.problem(`refusals told hosts apart: ${JSON.stringify([...messages])}`);
  }
  expectClean(tally);
});

it('forged bearer tokens on /metrics: 401, never the metrics', async () => {
  const tally = new Tally('forged tokens on GET /metrics');
  const rnd = seeded('metrics');
  const forged = [
    '',
    'Bearer',
    'Bearer ',
    `Bearer ${METRICS_TOKEN.slice(0, -1)}`,
    `Bearer ${METRICS_TOKEN}x`,
    `Bearer ${METRICS_TOKEN.toUpperCase()}`,
    `Basic ${Buffer.from(`x:${METRICS_TOKEN}`).toString('base64')}`,
    `Bearer ${METRICS_TOKEN} ${METRICS_TOKEN}`,
    `${METRICS_TOKEN}`,
    ...Array.from(
      { length: 10 },
      () => `Bearer ${Array.from({ length: 36 }, () => rnd.pick([...'abc-0123'])).join('')}`,
    ),
  ];
  for (const authorization of forged) {
    const res = await fetch(`${h.origin}/metrics`, { headers: authorization ? { authorization } : {} });
    const text = await res.text();
    tally.add(`HTTP_${res.status}`);
    if (res.status !== 401) tally.problem(`${authorization.slice(0, 30)}: HTTP ${res.status}`);
    if (text.includes('# TYPE')) tally.problem(`${authorization.slice(0, 30)}: metrics served`);
  }
  const genuine = await fetch(`${h.origin}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
  if (genuine.status !== 200) tally.problem(`the genuine token: HTTP ${genuine.status}`);
  expectClean(tally);
});
