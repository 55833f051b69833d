// An account's data export and its deletion, as its owner runs them: the export holds what the
// marketplace keeps about them (and nobody else's data, and no key secret); deletion needs the
// password, waits for no job, and afterwards the person is gone — no login, key or session works,
// their models and files are gone, their tensors and review texts are erased, their address is
// free — while usage records, costs and ratings stay exactly as they were, and a notice reaches
// the old address.
import { randomUUID } from 'node:crypto';
import { ApiKeyScope, PredictionMode, PredictionStatus, Role } from '../../src/entities/enums.js';
import { ModelVersion } from '../../src/entities/model-version.entity.js';
import { Prediction } from '../../src/entities/prediction.entity.js';
import { User } from '../../src/entities/user.entity.js';
import {
  DeleteAccountDocument,
  LoginDocument,
  MeDocument,
  ModelDetailDocument,
  PredictDocument,
  RegisterDocument,
} from '../generated/graphql.js';
import { storedVersion } from '../predictions/prediction-fixtures.js';
import { apiKeyFor } from '../support/auth.js';
import { Factory } from '../support/factories.js';
import { startSmtpServer, type SmtpServer } from '../support/smtp-server.js';
import { startTestServer, type TestServer } from '../support/test-server.js';

let server: TestServer;
let smtp: SmtpServer;
let f: Factory;
const PASSWORD = 'correct horse battery staple';
const X = [{ name: 'x', dtype: 'float32', shape: [1, 4], data: [1, 2, 3, 4] }];

beforeAll(async () => {
  smtp = await startSmtpServer();
  server = await startTestServer({ SMTP_URL: smtp.url });
  f = new Factory(server.app);
}, 60_000);

afterAll(async () => {
  await server?.close();
  await smtp?.close();
});

const codeOf = (res: { errors?: readonly { extensions?: Record<string, unknown> }[] }) => res.errors?.[0]?.extensions;
const sql = <T>(query: string, params: unknown[] = []) => server.app.db.orm.em.fork().execute<T[]>(query, params);

async function account(role: 'CONSUMER' | 'PUBLISHER' = 'CONSUMER') {
  const email = `owner-${randomUUID().slice(0, 8)}@example.test`;
  const res = await server.gql(RegisterDocument, {
    input: { email, password: PASSWORD, displayName: 'Grace Hopper', role: role as never },
  });
  const r = res.data!.register;
  const user = await server.app.db.orm.em.fork().findOneOrFail(User, { id: r.user.id });
  return { email, user, headers: { authorization: `Bearer ${r.accessToken}` }, refreshToken: r.refreshToken };
}

it('exports the account’s data, nobody else’s, and no secret', async () => {
  const publisher = await f.user({ role: Role.PUBLISHER });
  const model = await f.model(publisher, { pricePerRequest: '0.0020000000' });
  await storedVersion(server.app, model, 'elementwise');
  const me = await account();
  const other = await f.user();
  await f.review(model, other, 2);
  await f.review(model, me.user, 5);
  expect((await server.gql(PredictDocument, { modelId: model.id, inputs: X }, me.headers)).errors).toBeUndefined();
  const key = await apiKeyFor(server.app, me.user, [ApiKeyScope.PREDICT]);

  const res = await fetch(`${server.origin}/account/export.json`, { headers: me.headers });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-disposition')).toContain('attachment');
  const text = await res.text();
  const data = JSON.parse(text) as Record<string, { [k: string]: unknown }[]> & { user: Record<string, unknown> };
  expect(data.user).toMatchObject({ id: me.user.id, email: me.email, display_name: 'Grace Hopper' });
  expect(data.apiKeys).toHaveLength(1);
  expect(data.apiKeys[0]).toMatchObject({ prefix: key.slice(0, 12) });
  expect(text).not.toContain(key);
  expect(text).not.toContain('key_hash');
  expect(data.reviews.map((r) => r.rating)).toEqual([5]);
  expect(data.predictions).toHaveLength(1);
  expect(data.usageRecords).toHaveLength(1);
  expect(text).not.toContain(other.id);

  expect((await fetch(`${server.origin}/account/export.json`, { headers: { 'x-api-key': key } })).status).toBe(403);
  const anonymous = await fetch(`${server.origin}/account/export.json`);
  expect(anonymous.status).toBe(401);
  expect(await anonymous.json()).toMatchObject({ code: 'UNAUTHENTICATED', requestId: expect.any(String) });
});

it('deletes an account: the person is gone, the billing facts stay', async () => {
  const publisher = await f.user({ role: Role.PUBLISHER });
  const model = await f.model(publisher, { pricePerRequest: '0.0020000000' });
  await storedVersion(server.app, model, 'elementwise');
  const me = await account();
  await f.review(model, me.user, 4);
  for (let i = 0; i < 3; i++) await server.gql(PredictDocument, { modelId: model.id, inputs: X }, me.headers);
  const key = await apiKeyFor(server.app, me.user, [ApiKeyScope.PREDICT]);
  const billing = `select count(*)::int as n, coalesce(sum(amount), 0)::text as total from usage_records where user_id = ?`;
  const [before] = await sql<{ n: number; total: string }>(billing, [me.user.id]);
  const [ratingBefore] = await sql<{ rating_count: number; rating_sum: number }>(
    'select rating_count, rating_sum from models where id = ?',
    [model.id],
  );

  expect(codeOf(await server.gql(DeleteAccountDocument, { password: 'not my password' }, me.headers))).toMatchObject({
    code: 'BAD_USER_INPUT',
    field: 'password',
  });
  expect(codeOf(await server.gql(DeleteAccountDocument, { password: PASSWORD }, { 'x-api-key': key }))).toMatchObject({
    code: 'FORBIDDEN',
  });
  // A queued job holds it back: nothing may be billed to a closed account.
  const em = server.app.db.orm.em.fork();
  const version = await em.findOneOrFail(ModelVersion, { model: model.id });
  const queued = em.create(Prediction, {
    user: me.user.id,
    model: model.id,
    version: version.id,
    mode: PredictionMode.ASYNC,
    status: PredictionStatus.QUEUED,
    inputs: null,
    outputs: null,
    currency: 'USD',
  });
  await em.flush();
  expect(codeOf(await server.gql(DeleteAccountDocument, { password: PASSWORD }, me.headers))).toMatchObject({
    code: 'CONFLICT',
    reason: 'JOBS_IN_FLIGHT',
  });
  await sql(`update predictions set status = 'CANCELED' where id = ?`, [queued.id]);

  expect((await server.gql(DeleteAccountDocument, { password: PASSWORD }, me.headers)).data?.deleteAccount).toBe(true);

  // Nothing of the person signs in any more.
  expect(codeOf(await server.gql(LoginDocument, { email: me.email, password: PASSWORD }))).toMatchObject({
    code: 'UNAUTHENTICATED',
  });
  expect(codeOf(await server.gql(MeDocument, {}, me.headers))).toMatchObject({ code: 'UNAUTHENTICATED' });
  expect(codeOf(await server.gql(MeDocument, {}, { 'x-api-key': key }))).toMatchObject({ code: 'UNAUTHENTICATED' });
  expect(
    codeOf(
      await server.gql('mutation($t: String!) { refreshToken(refreshToken: $t) { accessToken } }', {
        t: me.refreshToken,
      }),
    ),
  ).toMatchObject({ code: 'UNAUTHENTICATED' });
  const [row] = await sql<{ email: string; display_name: string; deleted_at: Date | null }>(
    'select email, display_name, deleted_at from users where id = ?',
    [me.user.id],
  );
  expect(row).toMatchObject({ email: `deleted-${me.user.id}@deleted.invalid`, display_name: 'Deleted user' });
  expect(row.deleted_at).not.toBeNull();
  // Tensors and words erased; costs, usage and ratings exactly as before.
  const [tensors] = await sql<{ n: number }>(
    'select count(*)::int as n from predictions where user_id = ? and (inputs is not null or outputs is not null)',
    [me.user.id],
  );
  expect(tensors.n).toBe(0);
  const [review] = await sql<{ title: string; body: string; rating: number }>(
    'select title, body, rating from reviews where author_id = ?',
    [me.user.id],
  );
  expect(review).toEqual({ title: '', body: '', rating: 4 });
  expect((await sql(billing, [me.user.id]))[0]).toEqual(before);
  expect((await sql('select rating_count, rating_sum from models where id = ?', [model.id]))[0]).toEqual(ratingBefore);
  // The address is free for a new account, and the old one was told.
  expect(
    (await server.gql(RegisterDocument, { input: { email: me.email, password: PASSWORD, displayName: 'New' } })).errors,
  ).toBeUndefined();
  await smtp.next(me.email, 'Your account was deleted');
});

it('takes a publisher’s models out of the catalog and deletes their files', async () => {
  const me = await account('PUBLISHER');
  const model = await f.model(me.user);
  const version = await storedVersion(server.app, model, 'elementwise');
  expect(await server.app.storage.exists(version.storageKey)).toBe(true);
  expect((await server.gql(DeleteAccountDocument, { password: PASSWORD }, me.headers)).data?.deleteAccount).toBe(true);
  expect(await server.app.storage.exists(version.storageKey)).toBe(false);
  const detail = await server.gql(ModelDetailDocument, { id: model.id });
  expect(detail.data?.model ?? null).toBeNull();
});
