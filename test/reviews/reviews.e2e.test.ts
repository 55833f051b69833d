import { Role } from '../../src/entities/enums.js';
import type { User } from '../../src/entities/user.entity.js';
import {
  CreateReviewDocument,
  DeleteReviewDocument,
  MarkReviewHelpfulDocument,
  ModelReviewsDocument,
  ModerateReviewDocument,
  ReplyToReviewDocument,
  UpdateReviewDocument,
} from '../generated/graphql.js';
import { apiKeyFor, apiKeyHeaders, authHeaders } from '../support/auth.js';
import { Factory } from '../support/factories.js';
import { startTestServer, type TestServer } from '../support/test-server.js';

let server: TestServer;
let owner: User;
let admin: User;
let alice: User;
let bob: User;
const h: Record<string, Record<string, string>> = {};

beforeAll(async () => {
  server = await startTestServer();
  const f = new Factory(server.app);
  owner = await f.user({ role: Role.PUBLISHER });
  admin = await f.user({ role: Role.ADMIN });
  alice = await f.user();
  bob = await f.user();
  for (const [k, u] of Object.entries({ owner, admin, alice, bob })) h[k] = await authHeaders(server.app, u);
  // Starting the embedded database and applying migrations can be slow on a busy machine.
}, 120_000);
afterAll(async () => server?.close());

it('runs the review lifecycle over GraphQL with the right codes for each rule', async () => {
  const model = await new Factory(server.app).model(owner);
  const created = await server.gql(
    CreateReviewDocument,
    { modelId: model.id, input: { rating: 4, title: 'Nice' } },
    h.alice,
  );
  expect(created.errors).toBeUndefined();
  const review = created.data!.createReview;
  expect(review).toEqual(
    expect.objectContaining({ rating: 4, title: 'Nice', verifiedUsage: false, author: { id: alice.id } }),
  );
  const again = await server.gql(CreateReviewDocument, { modelId: model.id, input: { rating: 5 } }, h.alice);
  expect(again.errors?.[0]?.extensions?.code).toBe('CONFLICT');
  const anon = await server.gql(CreateReviewDocument, { modelId: model.id, input: { rating: 5 } });
  expect(anon.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  const key = await apiKeyFor(server.app, bob, ['models:read']);
  const byKey = await server.gql(CreateReviewDocument, { modelId: model.id, input: { rating: 5 } }, apiKeyHeaders(key));
  expect(byKey.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');

  const bobs = (await server.gql(CreateReviewDocument, { modelId: model.id, input: { rating: 2 } }, h.bob)).data!
    .createReview;
  expect(
    (await server.gql(MarkReviewHelpfulDocument, { reviewId: review.id }, h.bob)).data!.markReviewHelpful.helpfulCount,
  ).toBe(1);
  expect(
    (await server.gql(MarkReviewHelpfulDocument, { reviewId: review.id }, h.bob)).data!.markReviewHelpful.helpfulCount,
  ).toBe(1);
  const own = await server.gql(MarkReviewHelpfulDocument, { reviewId: review.id }, h.alice);
  expect(own.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');

  const reply = await server.gql(ReplyToReviewDocument, { reviewId: review.id, body: 'Thank you!' }, h.owner);
  expect(reply.data!.replyToReview.publisherReply).toBe('Thank you!');
  const notOwner = await server.gql(ReplyToReviewDocument, { reviewId: review.id, body: 'me too' }, h.bob);
  expect(notOwner.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');

  const upd = await server.gql(UpdateReviewDocument, { reviewId: review.id, input: { rating: 5 } }, h.alice);
  expect(upd.data!.updateReview.rating).toBe(5);
  let listed = (await server.gql(ModelReviewsDocument, { id: model.id })).data!.model;
  expect(listed).toEqual(expect.objectContaining({ ratingCount: 2, ratingAverage: 3.5 }));
  expect(listed.reviews.edges.map((e) => e.node.id)).toEqual([review.id, bobs.id]);

  const modByPublisher = await server.gql(ModerateReviewDocument, { reviewId: bobs.id, hidden: true }, h.owner);
  expect(modByPublisher.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  expect(
    (await server.gql(ModerateReviewDocument, { reviewId: bobs.id, hidden: true }, h.admin)).errors,
  ).toBeUndefined();
  listed = (await server.gql(ModelReviewsDocument, { id: model.id })).data!.model;
  expect(listed).toEqual(expect.objectContaining({ ratingCount: 1, ratingAverage: 5 }));
  expect(listed.reviews.totalCount).toBe(1);

  const del = await server.gql(DeleteReviewDocument, { reviewId: review.id }, h.alice);
  expect(del.data!.deleteReview).toBe(true);
  listed = (await server.gql(ModelReviewsDocument, { id: model.id })).data!.model;
  expect(listed).toEqual(expect.objectContaining({ ratingCount: 0, ratingAverage: null }));
});
