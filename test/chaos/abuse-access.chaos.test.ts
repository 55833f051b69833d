// Abuse corpus, part 3: forged credentials (access tokens, API keys, refresh tokens), forged
// Stripe webhooks, forged Standard Webhooks signatures against our own verifier, account abuse
// and NUL characters in writes. Each forged credential is UNAUTHENTICATED (401), each forged
// webhook 400, and none of them writes a row.
import { SignJWT } from 'jose';
import Stripe from 'stripe';
import { Role } from '../../src/entities/enums.js';
import { generateWebhookSecret, verifyWebhook, webhookHeaders } from '../../src/webhooks/standard-webhooks.js';
import { apiKeyFor, tokenFor } from '../support/auth.js';
import { AbuseHarness, inBatches, seeded, Tally } from './support/abuse-harness.js';
import { sparePort } from './support/spare-port.js';

const h = new AbuseHarness();
const STRIPE_SECRET = 'whsec_abuse_corpus_secret';

beforeAll(async () => {
  // Stripe configured (webhooks verify locally; nothing here reaches the API host, a closed port).
  const closed = await sparePort();
  await h.start({
    STRIPE_SECRET_KEY: 'sk_test_abuse',
    STRIPE_WEBHOOK_SECRET: STRIPE_SECRET,
    STRIPE_API_HOST: '127.0.0.1',
    STRIPE_API_PORT: String(closed),
    STRIPE_API_PROTOCOL: 'http',
  });
  await h.alive();
}, 120_000);

afterAll(async () => h.close());

function expectClean(tally: Tally) {
  tally.report(tally.problems.length ? `problems: ${tally.problems.length}` : undefined);
  expect(tally.problems).toEqual([]);
}

const b64url = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');

async function forgedTokens(): Promise<[string, string][]> {
  const rnd = seeded('tokens');
  const app = h.server.app;
  const genuine = await tokenFor(app, h.fx.consumer);
  const [head, payload, sig] = genuine.split('.') as [string, string, string];
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>;
  const { signing } = await app.services.auth.tokens.keys();
  const cfg = app.config.auth.jwt;
  const now = Math.floor(Date.now() / 1000);
  const signed = (over: Record<string, unknown>, header: Record<string, unknown> = {}) =>
    new SignJWT({ role: 'CONSUMER', ...over })
      .setProtectedHeader({ alg: signing.alg, kid: signing.kid, typ: 'at+jwt', ...header })
      .setIssuer((over.iss as string) ?? cfg.issuer)
      .setAudience((over.aud as string) ?? cfg.audience)
      .setSubject((over.sub as string) ?? h.fx.consumer.id)
      .setIssuedAt((over.iat as number) ?? now)
      .setExpirationTime((over.exp as number) ?? now + 300)
      .sign(signing.signKey);
  const flip = (s: string, i: number) => s.slice(0, i) + (s[i] === 'A' ? 'B' : 'A') + s.slice(i + 1);
  // Only forgeries: a token signed with the server's own key (any claims) is genuine by definition.
  const out: [string, string][] = [
    [
      'alg none, admin',
      `${b64url({ alg: 'none', typ: 'at+jwt', kid: signing.kid })}.${b64url({ ...claims, role: 'ADMIN' })}.`,
    ],
    ['payload swapped to admin', `${head}.${b64url({ ...claims, role: 'ADMIN' })}.${sig}`],
    ['payload of another user', `${head}.${b64url({ ...claims, sub: h.fx.otherConsumer.id })}.${sig}`],
    ['header swapped to HS256', `${b64url({ alg: 'HS256', typ: 'at+jwt', kid: signing.kid })}.${payload}.${sig}`],
    ['no signature', `${head}.${payload}.`],
    ['two segments', `${head}.${payload}`],
    ['four segments', `${genuine}.${sig}`],
    ['expired', await signed({ role: 'CONSUMER', iat: now - 7200, exp: now - 3600 })],
    ['wrong issuer', await signed({ role: 'CONSUMER', iss: 'someone-else' })],
    ['wrong audience', await signed({ role: 'CONSUMER', aud: 'another-api' })],
    ['unknown kid', await signed({ role: 'CONSUMER' }, { kid: 'retired' })],
  ];
  for (let i = 0; i < 6; i++) out.push([`genuine cut at ${i}`, genuine.slice(0, 10 + rnd.int(genuine.length - 12))]);
  for (let i = 0; i < 6; i++) {
    const part = rnd.int(3);
    const segs = [head, payload, sig];
    segs[part] = flip(segs[part], rnd.int(segs[part].length));
    out.push([`genuine with segment ${part} flipped`, segs.join('.')]);
  }
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~+/=';
  for (const n of [1, 8, 64, 512, 4096]) {
    out.push([`random ${n} chars`, Array.from({ length: n }, () => alphabet[rnd.int(alphabet.length)]).join('')]);
  }
  return out;
}

it('forged access tokens, API keys and headers: 401 UNAUTHENTICATED, never a caller, nothing written', async () => {
  const tally = new Tally('forged token or API key');
  const headers: [string, Record<string, string>][] = [];
  for (const [label, token] of await forgedTokens())
    headers.push([`Bearer ${label}`, { authorization: `Bearer ${token}` }]);
  const rnd = seeded('keys');
  const real = await apiKeyFor(h.server.app, h.fx.otherConsumer, ['predict']);
  const revoked = await apiKeyFor(h.server.app, h.fx.otherConsumer, ['predict']);
  const ids = await h.gql('{ apiKeys { id prefix } }', undefined, h.fx.otherConsumerAuth);
  const revokedId = (ids.body?.data as { apiKeys: { id: string; prefix: string }[] }).apiKeys.find((k) =>
    revoked.startsWith(k.prefix),
  )!.id;
  await h.gql('mutation($id: ID!) { revokeApiKey(id: $id) { id } }', { id: revokedId }, h.fx.otherConsumerAuth);
  const keyChars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  const randomKey = () => `aimpk_${Array.from({ length: 32 }, () => keyChars[rnd.int(keyChars.length)]).join('')}`;
  for (const [label, key] of [
    ['revoked key', revoked],
    ['real key, last char changed', real.slice(0, -1) + (real.endsWith('A') ? 'B' : 'A')],
    ['real key cut short', real.slice(0, -4)],
    ['real key doubled', real + real],
    ['prefix only', 'aimpk_'],
    ['random key', randomKey()],
    ['random key', randomKey()],
    ['wrong prefix', real.replace('aimpk_', 'sk_')],
    ['10 kB key', `aimpk_${'a'.repeat(10_000)}`],
    ['latin-1 key', 'aimpk_\u00f1\u00f8\u00ff\u00e4\u00e7'],
  ] as const) {
    headers.push([`X-API-Key ${label}`, { 'x-api-key': key }]);
    headers.push([`Bearer API key ${label}`, { authorization: `Bearer ${key}` }]);
  }
  for (const value of ['Bearer', 'Bearer ', 'Basic dXNlcjpwYXNz', 'Token abc', 'Bearer a b', 'Bearer\ttab', 'bearer']) {
    headers.push([`authorization "${value}"`, { authorization: value }]);
  }
  headers.push(['both a token and a key', { ...h.fx.consumerAuth, 'x-api-key': real }]);
  headers.push(['a 12 kB token', { authorization: `Bearer ${'a'.repeat(12_000)}` }]);
  headers.push(['a 40 kB header (over Node’s limit)', { authorization: `Bearer ${'a'.repeat(40_000)}` }]);
  const before = await h.counts();
  const ops = ['{ me { id role } }', 'mutation { createApiKey(input: { name: "x", scopes: ["predict"] }) { secret } }'];
  await inBatches(headers, 6, async ([label, hdrs]) => {
    for (const query of ops) {
      const res = await h.gql(query, undefined, hdrs);
      // Node refuses headers over 16 kB itself: 431 with an empty body, before any of our code.
      h.check(tally, label, res, { graphql: res.status !== 431 });
      if (res.outcome !== 'UNAUTHENTICATED' && res.status !== 431) tally.problem(`${label}: ${res.outcome}`);
      if (res.status !== 401 && res.status !== 431) tally.problem(`${label}: HTTP ${res.status}`);
    }
  });
  expectClean(tally);
  expect(await h.counts()).toEqual(before);
  await h.alive();
});

it('forged refresh tokens and account abuse: refused, no session, no account, no admin', async () => {
  const tally = new Tally('forged refresh token, account abuse');
  const rnd = seeded('refresh');
  const before = await h.counts();
  const cases: [string, string, Record<string, unknown>][] = [];
  for (const token of [
    '',
    'x',
    'a'.repeat(100_000),
    '../../etc/passwd',
    'null',
    randomHex(rnd, 64),
    randomHex(rnd, 128),
  ]) {
    cases.push([
      `refresh ${token.slice(0, 20)}`,
      'mutation($t: String!) { refreshToken(refreshToken: $t) { accessToken } }',
      { t: token },
    ]);
    cases.push([`logout ${token.slice(0, 20)}`, 'mutation($t: String!) { logout(refreshToken: $t) }', { t: token }]);
  }
  const register = 'mutation($i: RegisterInput!) { register(input: $i) { accessToken } }';
  const reg = (over: Record<string, unknown>) => ({
    i: {
      email: `abuse-${randomHex(rnd, 8)}@example.test`,
      password: 'correct horse battery staple',
      displayName: 'Abuser',
      ...over,
    },
  });
  for (const [label, over] of [
    ['register as ADMIN', { role: 'ADMIN' }],
    ['register with a taken email', { email: h.fx.consumer.email }],
    ['register with the taken email upper-cased', { email: h.fx.consumer.email.toUpperCase() }],
    ['register with an empty password', { password: '' }],
    ['register with a 1 MB password', { password: 'p'.repeat(1024 * 1024) }],
    ['register with a 100 kB email', { email: `${'e'.repeat(100_000)}@example.test` }],
    ['register with an email that is not one', { email: 'not-an-email' }],
    ['register with a 100 kB name', { displayName: 'n'.repeat(100_000) }],
    ['register with a NUL in the name', { displayName: 'a\u0000b' }],
    ['register with a NUL in the email', { email: 'a\u0000b@example.test' }],
  ] as const) {
    cases.push([label, register, reg(over)]);
  }
  const login = 'mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken } }';
  for (const [label, e, p] of [
    ['login with a wrong password', h.fx.consumer.email, 'wrong'],
    ['login with a 1 MB password', h.fx.consumer.email, 'p'.repeat(1024 * 1024)],
    ['login with a NUL', `${h.fx.consumer.email}\u0000`, 'x'],
    ['login as nobody', 'nobody@example.test', 'x'],
    ['login with SQL', "' or 1=1 --", "' or 1=1 --"],
  ]) {
    cases.push([label, login, { e, p }]);
  }
  await inBatches(cases, 4, async ([label, query, variables]) => {
    const res = await h.gql(query, variables);
    h.check(tally, label, res);
    if (res.outcome === 'OK' && !label.startsWith('logout')) tally.problem(`${label}: succeeded`);
  });
  const after = await h.counts();
  expect({ users: after.users, sessions: after.refresh_tokens }).toEqual({
    users: before.users,
    sessions: before.refresh_tokens,
  });
  const admins = await h.server.app.db.orm.em
    .fork()
    .getConnection()
    .execute<{ n: string }[]>(`select count(*)::text as n from users where role = '${Role.ADMIN}'`);
  expect(admins[0].n).toBe('0');
  await h.alive();
  expectClean(tally);
});

function randomHex(rnd: ReturnType<typeof seeded>, n: number): string {
  return Array.from({ length: n }, () => '0123456789abcdef'[rnd.int(16)]).join('');
}

it('NUL characters in writes: BAD_USER_INPUT, not a database error, nothing written', async () => {
  const tally = new Tally('NUL character in a write');
  const before = await h.counts();
  const model = h.fx.model.id;
  const cases: [string, string, Record<string, unknown>, Record<string, string>][] = [
    [
      'createModel name',
      'mutation($i: CreateModelInput!) { createModel(input: $i) { id } }',
      { i: { slug: 'nul-model', name: 'a\u0000', task: 't' } },
      h.fx.publisherAuth,
    ],
    [
      'createModel tag',
      'mutation($i: CreateModelInput!) { createModel(input: $i) { id } }',
      { i: { slug: 'nul-tag', name: 'n', task: 't', tags: ['\u0000'] } },
      h.fx.publisherAuth,
    ],
    [
      'createModel inline literal',
      'mutation { createModel(input: { slug: "nul-lit", name: "a\\u0000b", task: "t" }) { id } }',
      {},
      h.fx.publisherAuth,
    ],
    [
      'updateModel description',
      'mutation($id: ID!) { updateModel(id: $id, input: { description: "\\u0000" }) { id } }',
      { id: model },
      h.fx.publisherAuth,
    ],
    [
      'createReview body',
      'mutation($m: ID!, $i: CreateReviewInput!) { createReview(modelId: $m, input: $i) { id } }',
      { m: model, i: { rating: 5, body: 'good\u0000' } },
      h.fx.consumerAuth,
    ],
    [
      'createApiKey name',
      'mutation($i: CreateApiKeyInput!) { createApiKey(input: $i) { secret } }',
      { i: { name: '\u0000', scopes: ['predict'] } },
      h.fx.consumerAuth,
    ],
    ['search', 'query($s: String) { models(filter: { search: $s }) { totalCount } }', { s: '\u0000' }, {}],
    ['model slug', 'query($s: String) { model(slug: $s) { id } }', { s: 'x\u0000' }, {}],
    ['a NUL in a JSON variable key', 'query($s: String) { model(slug: $s) { id } }', { s: 'x', ['k\u0000']: 1 }, {}],
  ];
  for (const [label, query, variables, auth] of cases) {
    const res = await h.gql(query, variables, auth);
    h.check(tally, label, res);
    if (res.outcome !== 'BAD_USER_INPUT') tally.problem(`${label}: ${res.outcome}`);
  }
  expect(await h.counts()).toEqual(before);
  await h.alive();
  expectClean(tally);
});

it('forged Stripe webhooks: 400, no event recorded, no invoice touched', async () => {
  const tally = new Tally('forged Stripe webhook');
  const rnd = seeded('stripe');
  const before = await h.counts();
  const now = Math.floor(Date.now() / 1000);
  const event = (type: string) =>
    JSON.stringify({
      id: `evt_forged_${randomHex(rnd, 12)}`,
      object: 'event',
      type,
      created: now,
      data: { object: { id: 'in_x', object: 'invoice', metadata: {} } },
    });
  const sign = (payload: string, options: { secret?: string; timestamp?: number } = {}) =>
    Stripe.webhooks.generateTestHeaderString({
      payload,
      secret: options.secret ?? STRIPE_SECRET,
      timestamp: options.timestamp,
    });
  const cases: [string, string | Uint8Array, string | undefined][] = [];
  for (const type of ['invoice.paid', 'invoice.voided', 'invoice.marked_uncollectible', 'customer.created']) {
    const payload = event(type);
    cases.push([`${type}: no signature`, payload, undefined]);
    cases.push([`${type}: empty signature`, payload, '']);
    cases.push([`${type}: another secret`, payload, sign(payload, { secret: 'whsec_not_ours' })]);
    cases.push([
      `${type}: signed, then tampered`,
      payload.replace(type, 'invoice.paid ').replace('in_x', 'in_y'),
      sign(payload),
    ]);
    cases.push([`${type}: an hour old`, payload, sign(payload, { timestamp: now - 3600 })]);
    // (A timestamp ahead of now with a genuine signature is accepted by Stripe's SDK: only the
    // secret's holder can make one, so it is no forgery.)
    cases.push([`${type}: random v1`, payload, `t=${now},v1=${randomHex(rnd, 64)}`]);
    cases.push([
      `${type}: 50 random v1`,
      payload,
      `t=${now},${Array.from({ length: 50 }, () => `v1=${randomHex(rnd, 64)}`).join(',')}`,
    ]);
    cases.push([`${type}: only v0`, payload, `t=${now},v0=${randomHex(rnd, 64)}`]);
    cases.push([`${type}: timestamp not a number`, payload, `t=abc,v1=${randomHex(rnd, 64)}`]);
    cases.push([`${type}: garbage header`, payload, 'x'.repeat(rnd.int(2000) + 1)]);
    cases.push([`${type}: 10 kB header`, payload, `t=${now},v1=${'a'.repeat(10_000)}`]);
  }
  cases.push(['signed, not JSON', '{"id": "evt_x", ', sign('{"id": "evt_x", ')]);
  cases.push(['signed, binary', new Uint8Array([0xff, 0x00, 0xfe]), sign('\xff\x00\xfe')]);
  cases.push(['over 1 MB', `{"pad":"${'p'.repeat(1_100_000)}"}`, sign('{}')]);
  await inBatches(cases, 6, async ([label, body, signature]) => {
    const res = await h.send({
      path: '/webhooks/stripe',
      headers: {
        'content-type': 'application/json',
        ...(signature !== undefined ? { 'stripe-signature': signature } : {}),
      },
      body,
    });
    h.check(tally, label, res, { graphql: false });
    if (res.status !== 400 && res.status !== 413)
      tally.problem(`${label}: HTTP ${res.status} ${res.text.slice(0, 100)}`);
  });
  const after = await h.counts();
  expect({ events: after.stripe_events, invoices: after.invoices }).toEqual({
    events: before.stripe_events,
    invoices: before.invoices,
  });
  await h.alive();
  expectClean(tally);
});

it('forged Standard Webhooks signatures: our verifier says false (never true, never throws), in bounded time', () => {
  const tally = new Tally('forged Standard Webhooks signature (verifyWebhook)');
  const rnd = seeded('standard-webhooks');
  const secret = generateWebhookSecret();
  const body = JSON.stringify({ type: 'prediction.completed', data: { id: 'p1', status: 'SUCCEEDED' } });
  const now = new Date();
  const genuine = webhookHeaders(secret, 'evt_1', body, now);
  expect(verifyWebhook(secret, genuine, body, { now })).toBe(true);
  const sig = genuine['webhook-signature'];
  const variants: [string, Record<string, string | undefined>, string][] = [
    ['another secret', webhookHeaders(generateWebhookSecret(), 'evt_1', body, now), body],
    ['body with a space', genuine, `${body} `],
    ['body re-serialised', genuine, JSON.stringify(JSON.parse(body), null, 1)],
    ['another id', { ...genuine, 'webhook-id': 'evt_2' }, body],
    ['no id', { ...genuine, 'webhook-id': undefined }, body],
    ['no timestamp', { ...genuine, 'webhook-timestamp': undefined }, body],
    ['no signature', { ...genuine, 'webhook-signature': undefined }, body],
    ['stale by 10 minutes', webhookHeaders(secret, 'evt_1', body, new Date(now.getTime() - 600_000)), body],
    ['10 minutes ahead', webhookHeaders(secret, 'evt_1', body, new Date(now.getTime() + 600_000)), body],
    ['timestamp in ms', { ...genuine, 'webhook-timestamp': String(now.getTime()) }, body],
    ['timestamp not a number', { ...genuine, 'webhook-timestamp': 'NaN' }, body],
    ['timestamp with a fraction', { ...genuine, 'webhook-timestamp': `${genuine['webhook-timestamp']}.5` }, body],
    ['v2 scheme', { ...genuine, 'webhook-signature': sig.replace('v1,', 'v2,') }, body],
    ['v1a scheme (asymmetric)', { ...genuine, 'webhook-signature': sig.replace('v1,', 'v1a,') }, body],
    ['no scheme', { ...genuine, 'webhook-signature': sig.slice(3) }, body],
    ['empty v1', { ...genuine, 'webhook-signature': 'v1,' }, body],
    ['truncated signature', { ...genuine, 'webhook-signature': sig.slice(0, -4) }, body],
    ['signature with junk after', { ...genuine, 'webhook-signature': `${sig}AAAA` }, body],
    ['not base64', { ...genuine, 'webhook-signature': 'v1,!!!!****' }, body],
    [
      'hex instead of base64',
      { ...genuine, 'webhook-signature': `v1,${Buffer.from(sig.slice(3), 'base64').toString('hex')}` },
      body,
    ],
    [
      '10,000 entries',
      { ...genuine, 'webhook-signature': Array.from({ length: 10_000 }, () => 'v1,AAAA').join(' ') },
      body,
    ],
    ['1 MB signature', { ...genuine, 'webhook-signature': `v1,${'A'.repeat(1024 * 1024)}` }, body],
  ];
  for (let i = 0; i < 40; i++) {
    const bytes = Buffer.from(sig.slice(3), 'base64');
    bytes[rnd.int(bytes.length)] ^= 1 << rnd.int(8);
    variants.push([`bit flipped #${i}`, { ...genuine, 'webhook-signature': `v1,${bytes.toString('base64')}` }, body]);
  }
  for (const [label, headers, payload] of variants) {
    const started = performance.now();
    let result: boolean | string;
    try {
      result = verifyWebhook(secret, headers, payload, { now });
    } catch (err) {
      result = `threw ${String(err)}`;
    }
    const ms = performance.now() - started;
    tally.add(result === false ? 'REFUSED' : result === true ? 'ACCEPTED' : 'THREW');
    if (result !== false) tally.problem(`${label}: ${String(result)}`);
    if (ms > 500) tally.problem(`${label}: took ${ms.toFixed(0)} ms`);
  }
  expectClean(tally);
});
