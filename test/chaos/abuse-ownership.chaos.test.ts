// Abuse corpus, part 4: other users' ids everywhere (every operation that takes an id, given
// the ids of someone else's predictions, keys, models, versions, reviews and invoices, and
// malformed ids), and WebSocket abuse (bad connection_init payloads, unknown and malformed
// messages, protocol misuse, subscribing to another user's prediction and events). Nothing
// another user owns is read or changed; the socket is closed with a 44xx code or left as it was.
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { MeteringService } from '../../src/billing/metering.service.js';
import { Role } from '../../src/entities/enums.js';
import { buildContext } from '../../src/graphql/build-context.js';
import { BillingFixtures } from '../billing/billing-fixtures.js';
import { storedVersion } from '../predictions/prediction-fixtures.js';
import { AbuseHarness, inBatches, leakIn, Tally } from './support/abuse-harness.js';

const h = new AbuseHarness();
type Victims = Record<
  'prediction' | 'apiKey' | 'model' | 'version' | 'review' | 'foreignReview' | 'invoice' | 'ownReview',
  string
>;
let v: Victims;
let snapshot: () => Promise<string>;

const X = { name: 'x', dtype: 'float32', shape: [1, 4], data: [0, 1, 2, 3] };

beforeAll(async () => {
  await h.start();
  const app = h.server.app;
  const fx = new BillingFixtures(app);
  const admin = await h.f.user({ role: Role.ADMIN });
  // Victims: otherConsumer's running job, API key, review and invoice; otherPublisher's model and version.
  const mine = h.fx.model;
  const myVersion = await storedVersion(app, mine, 'elementwise', { version: '1.0.0' });
  const theirs = await h.f.model(h.fx.otherPublisher);
  const theirVersion = await storedVersion(app, theirs, 'elementwise', { version: '1.0.0' });
  const running = await fx.runningPrediction(h.fx.otherConsumer, mine, myVersion);
  await fx.meteredPrediction(
    new MeteringService({ blockOverdue: false }),
    h.fx.otherConsumer,
    mine,
    myVersion,
    new Date('2026-01-10T00:00:00Z'),
  );
  const [invoice] = await app.services.billing.invoices.closeBillingPeriod(
    buildContext(() => app.db.orm.em.fork(), { caller: { kind: 'user', userId: admin.id, role: Role.ADMIN } }),
    '2026-01-01T00:00:00Z',
  );
  const key = await h.gql(
    'mutation { createApiKey(input: { name: "victim", scopes: ["predict"] }) { apiKey { id } } }',
    undefined,
    h.fx.otherConsumerAuth,
  );
  const review = await h.gql(
    'mutation($m: ID!) { createReview(modelId: $m, input: { rating: 4, title: "t", body: "b" }) { id } }',
    { m: mine.id },
    h.fx.otherConsumerAuth,
  );
  const foreign = await h.gql(
    'mutation($m: ID!) { createReview(modelId: $m, input: { rating: 2, title: "t", body: "b" }) { id } }',
    { m: theirs.id },
    h.fx.consumerAuth,
  );
  const own = await h.gql(
    'mutation($m: ID!) { createReview(modelId: $m, input: { rating: 3, title: "t", body: "b" }) { id } }',
    { m: mine.id },
    h.fx.consumerAuth,
  );
  const id = (res: { body?: { data?: unknown } }, path: string[]) =>
    path.reduce<unknown>((o, k) => (o as Record<string, unknown>)[k], res.body?.data) as string;
  v = {
    prediction: running.id,
    apiKey: id(key, ['createApiKey', 'apiKey', 'id']),
    model: theirs.id,
    version: theirVersion.id,
    review: id(review, ['createReview', 'id']),
    foreignReview: id(foreign, ['createReview', 'id']),
    ownReview: id(own, ['createReview', 'id']),
    invoice: invoice.id,
  };
  const rows: [string, string][] = [
    ['predictions', v.prediction],
    ['api_keys', v.apiKey],
    ['models', v.model],
    ['model_versions', v.version],
    ['reviews', v.review],
    ['reviews', v.foreignReview],
    ['reviews', v.ownReview],
    ['invoices', v.invoice],
  ];
  snapshot = async () => {
    const em = app.db.orm.em.fork();
    const out: unknown[] = [];
    for (const [table, rowId] of rows) {
      out.push(
        await em.getConnection().execute(`select row_to_json(t)::text as j from ${table} t where id = ?`, [rowId]),
      );
    }
    return JSON.stringify(out);
  };
}, 120_000);

afterAll(async () => h.close());

function expectClean(tally: Tally) {
  tally.report(tally.problems.length ? `problems: ${tally.problems.length}` : undefined);
  expect(tally.problems).toEqual([]);
}

const REFUSED = new Set(['NOT_FOUND', 'FORBIDDEN', 'BAD_USER_INPUT', 'UNAUTHENTICATED']);

it("other users' ids (and malformed ids) in every operation that takes one: refused, nothing read or changed", async () => {
  const tally = new Tally("another user's id, or a malformed id, in every id argument");
  const before = await h.counts();
  const rowsBefore = await snapshot();
  type Op = {
    label: string;
    query: string;
    id: keyof Victims;
    extra?: Record<string, unknown>;
    as: 'consumer' | 'publisher';
  };
  const ops: Op[] = [
    {
      label: 'prediction',
      query: 'query($id: ID!) { prediction(id: $id) { id status } }',
      id: 'prediction',
      as: 'consumer',
    },
    {
      label: 'cancelPrediction',
      query: 'mutation($id: ID!) { cancelPrediction(id: $id) { id status } }',
      id: 'prediction',
      as: 'consumer',
    },
    {
      label: 'revokeApiKey',
      query: 'mutation($id: ID!) { revokeApiKey(id: $id) { id } }',
      id: 'apiKey',
      as: 'consumer',
    },
    {
      label: 'rotateApiKey',
      query: 'mutation($id: ID!) { rotateApiKey(id: $id) { secret } }',
      id: 'apiKey',
      as: 'consumer',
    },
    {
      label: 'updateModel',
      query: 'mutation($id: ID!) { updateModel(id: $id, input: { name: "pwned", pricePerRequest: "0" }) { id } }',
      id: 'model',
      as: 'publisher',
    },
    { label: 'deleteModel', query: 'mutation($id: ID!) { deleteModel(id: $id) { id } }', id: 'model', as: 'publisher' },
    {
      label: 'modelAnalytics',
      query: 'query($id: ID!) { modelAnalytics(modelId: $id) { predictions } }',
      id: 'model',
      as: 'publisher',
    },
    {
      label: 'setDefaultVersion',
      query: 'mutation($id: ID!) { setDefaultVersion(versionId: $id) { id } }',
      id: 'version',
      as: 'publisher',
    },
    {
      label: 'deprecateVersion',
      query: 'mutation($id: ID!) { deprecateVersion(versionId: $id) { id } }',
      id: 'version',
      as: 'publisher',
    },
    {
      label: 'updateReview',
      query: 'mutation($id: ID!) { updateReview(reviewId: $id, input: { rating: 1, body: "pwned" }) { id } }',
      id: 'review',
      as: 'consumer',
    },
    {
      label: 'deleteReview',
      query: 'mutation($id: ID!) { deleteReview(reviewId: $id) }',
      id: 'review',
      as: 'consumer',
    },
    {
      label: 'replyToReview (not the model owner)',
      query: 'mutation($id: ID!) { replyToReview(reviewId: $id, body: "pwned") { id } }',
      id: 'foreignReview',
      as: 'publisher',
    },
    {
      label: 'moderateReview (not an admin)',
      query: 'mutation($id: ID!) { moderateReview(reviewId: $id, hidden: true) { id } }',
      id: 'review',
      as: 'publisher',
    },
    {
      label: 'markReviewHelpful (own review)',
      query: 'mutation($id: ID!) { markReviewHelpful(reviewId: $id) { id } }',
      id: 'ownReview',
      as: 'consumer',
    },
    {
      label: 'invoice',
      query: 'query($id: ID!) { invoice(id: $id) { id total { amount } } }',
      id: 'invoice',
      as: 'consumer',
    },
  ];
  const malformed = (real: string) => [
    real.toUpperCase(),
    ` ${real}`,
    `${real}x`,
    real.replaceAll('-', ''),
    '00000000-0000-0000-0000-000000000000',
    crypto.randomUUID(),
    'not-a-uuid',
    '',
    "' or '1'='1",
    '../../etc/passwd',
    '1; drop table models',
    'x'.repeat(10_000),
    '\u202e\u0000',
    '{"$ne": null}',
  ];
  const calls: { label: string; query: string; id: string; auth: Record<string, string>; victim: boolean }[] = [];
  for (const op of ops) {
    const auth = op.as === 'consumer' ? h.fx.consumerAuth : h.fx.publisherAuth;
    calls.push({ label: `${op.label} victim id`, query: op.query, id: v[op.id], auth, victim: true });
    for (const id of malformed(v[op.id]))
      calls.push({ label: `${op.label} ${JSON.stringify(id).slice(0, 30)}`, query: op.query, id, auth, victim: false });
    calls.push({ label: `${op.label} victim id, anonymous`, query: op.query, id: v[op.id], auth: {}, victim: true });
  }
  await inBatches(calls, 6, async (c) => {
    const res = await h.gql(c.query, { id: c.id }, c.auth);
    h.check(tally, c.label, res);
    if (!REFUSED.has(res.outcome)) tally.problem(`${c.label}: ${res.outcome} ${res.text.slice(0, 160)}`);
    // A refusal must not tell "exists but not yours" apart from "no such id" by leaking the row.
    if (c.victim && res.body?.data && JSON.stringify(res.body.data) !== 'null')
      tally.problem(`${c.label}: data ${JSON.stringify(res.body.data)}`);
  });
  // Lists filtered by someone else's model show only the caller's own rows.
  const list = await h.gql(
    'query($m: ID) { predictions(modelId: $m) { totalCount edges { node { id } } } }',
    { m: h.fx.model.id },
    h.fx.consumerAuth,
  );
  h.check(tally, 'predictions filtered by a model the victim used', list);
  expect(list.body?.data).toEqual({ predictions: { totalCount: 0, edges: [] } });
  expect(await snapshot()).toBe(rowsBefore);
  const after = await h.counts();
  expect(after).toEqual(before);
  await h.alive();
  expectClean(tally);
});

type WsOutcome = { code: number | 'open'; reason: string; messages: string[] };

/** Opens a raw graphql-transport-ws socket, sends frames in order, and sees how it ends. */
function rawWs(frames: (string | Buffer)[], options: { protocol?: string; waitMs?: number } = {}): Promise<WsOutcome> {
  return new Promise((resolve) => {
    const ws = new WebSocket(h.server.url.replace('http', 'ws'), options.protocol ?? 'graphql-transport-ws');
    const messages: string[] = [];
    let done = false;
    const finish = (code: number | 'open', reason: string) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (code === 'open') ws.terminate();
      resolve({ code, reason, messages });
    };
    const timer = setTimeout(() => finish('open', ''), options.waitMs ?? 700);
    ws.on('message', (data: Buffer) => messages.push(data.toString()));
    ws.on('close', (code, reason) => finish(code, String(reason)));
    ws.on('error', () => undefined);
    ws.on('unexpected-response', (_req, res) => finish(res.statusCode ?? 0, 'http'));
    ws.on('open', () => {
      for (const f of frames) ws.send(f);
    });
  });
}

it('WebSocket protocol abuse: closed with a 44xx code (or ignored), never crashing or hanging the server', async () => {
  const tally = new Tally('WebSocket protocol abuse');
  const init = (payload?: unknown) =>
    JSON.stringify(payload === undefined ? { type: 'connection_init' } : { type: 'connection_init', payload });
  const sub = (id: string, payload: unknown) => JSON.stringify({ type: 'subscribe', id, payload });
  const token = h.fx.consumerAuth.authorization;
  const cases: [string, (string | Buffer)[], { protocol?: string; expect?: 'close' | 'any' }][] = [];
  for (const payload of [
    'x',
    5,
    [],
    true,
    { authorization: 5 },
    { authorization: 'Bearer junk' },
    { apiKey: 'aimpk_junk' },
    { apiKey: ['a'] },
    { authorization: `Bearer ${'a'.repeat(100_000)}` },
    { authorization: token, apiKey: 'aimpk_x' },
  ]) {
    cases.push([`connection_init ${JSON.stringify(payload).slice(0, 40)}`, [init(payload)], { expect: 'close' }]);
  }
  for (const frame of [
    'not json',
    '{}',
    '[]',
    'null',
    '{"type": 5}',
    '{"type": "foo"}',
    '{"type": "subscribe"}',
    JSON.stringify({ type: 'connection_init', payload: null, extra: 'x'.repeat(50_000) }),
  ]) {
    cases.push([`frame ${frame.slice(0, 30)}`, [frame], { expect: 'any' }]);
  }
  cases.push(['binary frame', [Buffer.from([0, 1, 2, 255])], { expect: 'any' }]);
  cases.push(['subscribe before connection_init', [sub('1', { query: '{ __typename }' })], { expect: 'close' }]);
  cases.push(['two connection_init', [init(), init()], { expect: 'close' }]);
  cases.push([
    'duplicate subscription id',
    [
      init({ authorization: token }),
      sub('1', { query: 'subscription { myPredictionEvents { id } }' }),
      sub('1', { query: 'subscription { myPredictionEvents { id } }' }),
    ],
    { expect: 'close' },
  ]);
  // graphql-ws alone closed these with 4500 (an internal error): src/subscriptions/client-message-filter.ts.
  for (const type of ['next', 'error', 'connection_ack']) {
    cases.push([
      `a server message type sent by the client: ${type}`,
      [init(), JSON.stringify({ type, id: '1', payload: {} })],
      { expect: 'close' },
    ]);
  }
  cases.push([
    'complete for an unknown id',
    [init(), JSON.stringify({ type: 'complete', id: 'nope' })],
    { expect: 'any' },
  ]);
  cases.push(['subscribe without a query', [init(), sub('1', {})], { expect: 'any' }]);
  cases.push(['subscribe with a numeric query', [init(), sub('1', { query: 5 })], { expect: 'any' }]);
  cases.push([
    'subscribe with bad variables',
    [init(), sub('1', { query: 'query($n: Int) { models(first: $n) { totalCount } }', variables: { n: 'x' } })],
    { expect: 'any' },
  ]);
  cases.push([
    'subscribe with a 600-deep query',
    [init(), sub('1', { query: `{ ${'me { '.repeat(600)} id ${'}'.repeat(600)} }` })],
    { expect: 'any' },
  ]);
  cases.push([
    'subscribe with 1,000 aliases',
    [init(), sub('1', { query: `{ ${Array.from({ length: 1000 }, (_, i) => `a${i}: __typename`).join(' ')} }` })],
    { expect: 'any' },
  ]);
  cases.push([
    'subscribe with a NUL in a variable',
    [init(), sub('1', { query: 'query($s: String) { model(slug: $s) { id } }', variables: { s: '\u0000' } })],
    { expect: 'any' },
  ]);
  cases.push([
    '100 subscriptions at once',
    [
      init({ authorization: token }),
      ...Array.from({ length: 100 }, (_, i) => sub(`s${i}`, { query: 'subscription { myPredictionEvents { id } }' })),
    ],
    { expect: 'any' },
  ]);
  cases.push(['wrong subprotocol', [init()], { protocol: 'graphql-ws', expect: 'any' }]);
  await inBatches(cases, 5, async ([label, frames, opts]) => {
    const out = await rawWs(frames, { protocol: opts.protocol });
    tally.add(out.code === 'open' ? 'left open' : `close ${out.code}`);
    if (opts.expect === 'close' && (out.code === 'open' || out.code < 4400 || out.code > 4499) && out.code !== 1002) {
      tally.problem(`${label}: ${out.code} ${out.reason}`);
    }
    // 1006 (no close frame) is expected only when our client itself refuses the handshake.
    if (out.code === 1011 || (out.code === 1006 && !opts.protocol))
      tally.problem(`${label}: ${out.code} ${out.reason}`);
    if (out.code === 4500) tally.problem(`${label}: 4500 ${out.reason}`);
    for (const m of out.messages) {
      const msg = JSON.parse(m) as {
        type: string;
        payload?: { extensions?: { code?: unknown } }[] | { errors?: { extensions?: { code?: unknown } }[] };
      };
      const errors =
        msg.type === 'error'
          ? (msg.payload as { extensions?: { code?: unknown } }[])
          : msg.type === 'next'
            ? ((msg.payload as { errors?: { extensions?: { code?: unknown } }[] }).errors ?? [])
            : [];
      for (const e of errors)
        if (typeof e.extensions?.code !== 'string') tally.problem(`${label}: error without a code ${m.slice(0, 200)}`);
      const leak = leakIn(m);
      if (leak) tally.problem(`${label}: ${leak}`);
    }
  });
  await h.alive();
  expectClean(tally);
});

function client(auth: Record<string, string>): Client {
  return createClient({
    url: h.server.url.replace('http', 'ws'),
    webSocketImpl: WebSocket,
    connectionParams: auth,
    retryAttempts: 0,
    lazy: true,
  });
}

it("subscribing to another user's prediction or events: an error with a code, never their data", async () => {
  const tally = new Tally("WebSocket subscription to another user's prediction or events");
  const attacker = client(h.fx.consumerAuth);
  try {
    for (const [label, id] of [
      ["another user's prediction", v.prediction],
      ['a random id', crypto.randomUUID()],
      ['a malformed id', "' or 1=1 --"],
      ['an empty id', ''],
    ] as const) {
      const result = await new Promise<{ next: unknown[]; error?: unknown }>((resolve) => {
        const next: unknown[] = [];
        attacker.subscribe(
          {
            query: 'subscription($id: ID!) { predictionUpdated(id: $id) { id status outputs { data } } }',
            variables: { id },
          },
          {
            next: (value) => next.push(value),
            error: (error) => resolve({ next, error }),
            complete: () => resolve({ next }),
          },
        );
      });
      const errors = [
        ...(Array.isArray(result.error) ? (result.error as { extensions?: { code?: string } }[]) : []),
        ...result.next.flatMap((n) => (n as { errors?: { extensions?: { code?: string } }[] }).errors ?? []),
      ];
      const data = result.next.map((n) => (n as { data?: unknown }).data).filter((d) => d);
      tally.add(errors[0]?.extensions?.code ?? (data.length ? 'DATA' : 'NOTHING'));
      if (data.length) tally.problem(`${label}: got ${JSON.stringify(data).slice(0, 200)}`);
      if (!errors.length || errors.some((e) => typeof e.extensions?.code !== 'string'))
        tally.problem(`${label}: ${JSON.stringify(result).slice(0, 200)}`);
    }
    // Live events: the victim runs a prediction; the attacker's own streams must stay silent.
    const seen: unknown[] = [];
    const stops = ['subscription { myPredictionEvents { id } }', 'subscription { usageUpdated { requests } }'].map(
      (query) =>
        attacker.subscribe(
          { query },
          { next: (value) => seen.push(value), error: () => undefined, complete: () => undefined },
        ),
    );
    await new Promise((r) => setTimeout(r, 300));
    const run = await h.gql(
      'mutation($m: ID!, $i: [TensorInput!]!) { predict(modelId: $m, inputs: $i) { prediction { id } } }',
      { m: h.fx.model.id, i: [X] },
      h.fx.otherConsumerAuth,
    );
    expect(run.outcome).toBe('OK');
    await new Promise((r) => setTimeout(r, 800));
    const foreign = seen.filter(
      (s) =>
        !JSON.stringify(s).includes('"errors"') && JSON.stringify(s) !== '{"data":{"usageUpdated":{"requests":0}}}',
    );
    tally.add(foreign.length ? 'LEAKED_EVENTS' : 'NO_FOREIGN_EVENTS');
    if (foreign.length) tally.problem(`victim's events reached the attacker: ${JSON.stringify(foreign).slice(0, 200)}`);
    for (const stop of stops) stop();
  } finally {
    await attacker.dispose();
  }
  await h.alive();
  expectClean(tally);
});
