import { randomUUID } from 'node:crypto';
import { ModelVersionStatus, Role } from '../../src/entities/enums.js';
import { Model } from '../../src/entities/model.entity.js';
import type { User } from '../../src/entities/user.entity.js';
import { Factory } from '../support/factories.js';
import { startTestServer, type TestServer } from '../support/test-server.js';
import { ctxFor, errorCode } from '../publishing/publishing-helpers.js';

let server: TestServer;
let f: Factory;
let owner: User;
let admin: User;
let alice: User;
let bob: User;

beforeAll(async () => {
  server = await startTestServer();
  f = new Factory(server.app);
  owner = await f.user({ role: Role.PUBLISHER });
  admin = await f.user({ role: Role.ADMIN });
  alice = await f.user();
  bob = await f.user();
  // Starting the embedded database and applying migrations can be slow on a busy machine.
}, 120_000);
afterAll(async () => server?.close());

const reviews = () => server.app.services.reviews;
const ctx = (u: User | null) => ctxFor(server.app, u);

/** The model's aggregates as stored, and as recomputed from its visible reviews. */
async function aggregates(modelId: string) {
  const em = server.app.db.orm.em.fork();
  const m = await em.findOneOrFail(Model, { id: modelId });
  const [actual] = await em.execute<{ n: number; s: number }[]>(
    'select count(*)::int as n, coalesce(sum(rating), 0)::int as s from reviews where model_id = ? and hidden = false',
    [modelId],
  );
  return { stored: { n: m.ratingCount, s: m.ratingSum }, actual: { n: actual.n, s: actual.s } };
}

it('creates, updates, deletes and keeps the aggregates right; one review per user per model', async () => {
  const model = await f.model(owner);
  const r = await reviews().create(ctx(alice), model.id, { rating: 4, title: ' Good ', body: 'Works.' });
  expect(r).toEqual(expect.objectContaining({ rating: 4, title: 'Good', verifiedUsage: false, helpfulCount: 0 }));
  expect((await aggregates(model.id)).stored).toEqual({ n: 1, s: 4 });

  expect(await errorCode(reviews().create(ctx(alice), model.id, { rating: 5 }))).toBe('CONFLICT');
  expect(await errorCode(reviews().create(ctx(owner), model.id, { rating: 5 }))).toBe('FORBIDDEN');
  expect(await errorCode(reviews().create(ctx(null), model.id, { rating: 5 }))).toBe('UNAUTHENTICATED');
  for (const rating of [0, 6, 3.5]) {
    expect(await errorCode(reviews().create(ctx(bob), model.id, { rating }))).toBe('BAD_USER_INPUT');
  }
  expect(await errorCode(reviews().create(ctx(bob), randomUUID(), { rating: 3 }))).toBe('NOT_FOUND');
  const deleted = await f.model(owner, { deleted: true });
  expect(await errorCode(reviews().create(ctx(bob), deleted.id, { rating: 3 }))).toBe('NOT_FOUND');

  const updated = await reviews().update(ctx(alice), r.id, { rating: 2 });
  expect(updated.rating).toBe(2);
  expect(updated.title).toBe('Good');
  expect((await aggregates(model.id)).stored).toEqual({ n: 1, s: 2 });
  expect(await errorCode(reviews().update(ctx(bob), r.id, { rating: 5 }))).toBe('FORBIDDEN');

  expect(await errorCode(reviews().delete(ctx(bob), r.id))).toBe('FORBIDDEN');
  expect(await reviews().delete(ctx(alice), r.id)).toBe(true);
  expect(await errorCode(reviews().delete(ctx(alice), r.id))).toBe('NOT_FOUND');
  expect((await aggregates(model.id)).stored).toEqual({ n: 0, s: 0 });
});

it('sets verifiedUsage when the author has a SUCCEEDED prediction on the model', async () => {
  const model = await f.model(owner);
  const version = await f.version(model, { status: ModelVersionStatus.READY });
  const em = server.app.db.orm.em.fork();
  const insert = (status: string) =>
    em.execute(
      `insert into predictions (id, user_id, model_id, version_id, mode, status, created_at, updated_at)
       values (?, ?, ?, ?, 'SYNC', ?, now(), now())`,
      [randomUUID(), bob.id, model.id, version.id, status],
    );
  await insert('FAILED');
  await insert('SUCCEEDED');
  const verified = await reviews().create(ctx(bob), model.id, { rating: 5 });
  expect(verified.verifiedUsage).toBe(true);
  const failedOnly = await f.user();
  await em.execute(
    `insert into predictions (id, user_id, model_id, version_id, mode, status, created_at, updated_at)
     values (?, ?, ?, ?, 'SYNC', 'FAILED', now(), now())`,
    [randomUUID(), failedOnly.id, model.id, version.id],
  );
  expect((await reviews().create(ctx(failedOnly), model.id, { rating: 1 })).verifiedUsage).toBe(false);
});

it('counts one helpful vote per user, never on your own review', async () => {
  const model = await f.model(owner);
  const r = await reviews().create(ctx(alice), model.id, { rating: 5 });
  expect((await reviews().markHelpful(ctx(bob), r.id)).helpfulCount).toBe(1);
  expect((await reviews().markHelpful(ctx(bob), r.id)).helpfulCount).toBe(1);
  expect((await reviews().markHelpful(ctx(owner), r.id)).helpfulCount).toBe(2);
  expect(await errorCode(reviews().markHelpful(ctx(alice), r.id))).toBe('FORBIDDEN');
  expect(await errorCode(reviews().markHelpful(ctx(bob), randomUUID()))).toBe('NOT_FOUND');
  // Concurrent votes from many users all count.
  const voters = await Promise.all(Array.from({ length: 10 }, () => f.user()));
  await Promise.all(voters.map((v) => reviews().markHelpful(ctx(v), r.id)));
  expect((await reviews().markHelpful(ctx(bob), r.id)).helpfulCount).toBe(12);
});

it("lets only the model's owner reply, and only admins moderate (hidden reviews leave the aggregates)", async () => {
  const model = await f.model(owner);
  const r = await reviews().create(ctx(alice), model.id, { rating: 1 });
  await reviews().create(ctx(bob), model.id, { rating: 5 });
  const replied = await reviews().reply(ctx(owner), r.id, ' Thanks, fixed in 1.1. ');
  expect(replied.publisherReply).toBe('Thanks, fixed in 1.1.');
  expect(replied.publisherReplyAt).toBeInstanceOf(Date);
  expect(await errorCode(reviews().reply(ctx(bob), r.id, 'hi'))).toBe('FORBIDDEN');
  expect(await errorCode(reviews().reply(ctx(admin), r.id, 'hi'))).toBe('FORBIDDEN');
  expect(await errorCode(reviews().reply(ctx(owner), r.id, '   '))).toBe('BAD_USER_INPUT');

  expect(await errorCode(reviews().moderate(ctx(owner), r.id, true))).toBe('FORBIDDEN');
  expect((await reviews().moderate(ctx(admin), r.id, true)).hidden).toBe(true);
  expect((await aggregates(model.id)).stored).toEqual({ n: 1, s: 5 });
  await reviews().moderate(ctx(admin), r.id, true); // idempotent
  expect((await aggregates(model.id)).stored).toEqual({ n: 1, s: 5 });
  // Rating changes on a hidden review do not touch the aggregates; restoring counts the new rating.
  await reviews().update(ctx(alice), r.id, { rating: 3 });
  expect((await aggregates(model.id)).stored).toEqual({ n: 1, s: 5 });
  expect(await errorCode(reviews().markHelpful(ctx(bob), r.id))).toBe('NOT_FOUND');
  await reviews().moderate(ctx(admin), r.id, false);
  const agg = await aggregates(model.id);
  expect(agg.stored).toEqual({ n: 2, s: 8 });
  expect(agg.stored).toEqual(agg.actual);
});

it('keeps the aggregates exact under 50 concurrent reviews and concurrent edits', async () => {
  const model = await f.model(owner);
  const users = await Promise.all(Array.from({ length: 50 }, () => f.user()));
  const created = await Promise.all(
    users.map((u, i) => reviews().create(ctx(u), model.id, { rating: 1 + (i % 5), title: `r${i}` })),
  );
  let agg = await aggregates(model.id);
  expect(agg.stored).toEqual({ n: 50, s: 150 });
  expect(agg.stored).toEqual(agg.actual);

  // Concurrent rating changes, deletions, moderation and duplicate attempts, all at once.
  await Promise.allSettled([
    ...created.slice(0, 20).map((r, i) => reviews().update(ctx(users[i]), r.id, { rating: 5 })),
    ...created.slice(20, 30).map((r, i) => reviews().delete(ctx(users[20 + i]), r.id)),
    ...created.slice(30, 35).map((r) => reviews().moderate(ctx(admin), r.id, true)),
    ...users.slice(40, 50).map((u) => reviews().create(ctx(u), model.id, { rating: 5 })),
  ]);
  agg = await aggregates(model.id);
  expect(agg.stored.n).toBe(35);
  expect(agg.stored).toEqual(agg.actual);
});
