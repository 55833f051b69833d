/**
 * Who may do what: every mutation, and every query that reads someone's own data, run by every
 * kind of caller, with the exact outcome asserted. A mutation or query without a row fails the
 * coverage test at the bottom: add its row to ROWS (one object, see "Adding a row").
 *
 * Callers: anonymous; consumer and otherConsumer; publisher and otherPublisher; admin; and four
 * API keys owned by the row's `key.owner`: one with the row's scope (keyWithScope), one with
 * every other scope its owner's role allows (keyWithoutScope), one revoked and one expired
 * (those two hold the right scope, and must fail anyway). `prepare` runs once per caller, so
 * destructive mutations each get fresh rows. Resources belong to `consumer` and `publisher`;
 * `otherConsumer` / `otherPublisher` are the same roles trying to reach them.
 */
import { readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { parse, print } from 'graphql';
import { SCOPES_FOR_ROLE } from '../../src/auth/api-key.service.js';
import { AccountTokens } from '../../src/auth/account-tokens.js';
import { AccountTokenPurpose, ApiKeyScope, PredictionMode, PredictionStatus, Role } from '../../src/entities/enums.js';
import { Prediction } from '../../src/entities/prediction.entity.js';
import { BatchPrediction } from '../../src/entities/batch-prediction.entity.js';
import { UsageAlert } from '../../src/entities/usage-alert.entity.js';
import { ApiKey } from '../../src/entities/api-key.entity.js';
import { Invoice } from '../../src/entities/invoice.entity.js';
import type { User } from '../../src/entities/user.entity.js';
import { postMultipart } from '../publishing/multipart.js';
import { storedVersion } from '../predictions/prediction-fixtures.js';
import { apiKeyFor, tokenFor } from '../support/auth.js';
import { Factory } from '../support/factories.js';
import { startTestServer, type TestServer } from '../support/test-server.js';

const CALLERS = [
  'anonymous',
  'consumer',
  'otherConsumer',
  'publisher',
  'otherPublisher',
  'admin',
  'keyWithScope',
  'keyWithoutScope',
  'revokedKey',
  'expiredKey',
] as const;
type CallerKind = (typeof CALLERS)[number];
type Person = 'consumer' | 'otherConsumer' | 'publisher' | 'otherPublisher' | 'admin';

/** 'OK' (data, no errors) or the `extensions.code` of the first error. */
type Outcome = 'OK' | 'UNAUTHENTICATED' | 'FORBIDDEN' | 'NOT_FOUND' | 'BAD_USER_INPUT' | 'CONFLICT';

type World = { server: TestServer; f: Factory; users: Record<Person, User>; seq: () => number };

/**
 * Adding a row: `field` is `Mutation.x` or `Query.x`; `document` the operation; `prepare` makes
 * the rows it needs and returns the variables; `key` says whose key and which scope the API-key
 * callers get; `expect` gives all ten outcomes (revokedKey/expiredKey are UNAUTHENTICATED always:
 * use `...BAD_KEYS`). `upload` sends the `file` variable as a multipart upload.
 */
type Row = {
  field: string;
  document: string;
  prepare?: (w: World) => Promise<Record<string, unknown>>;
  key: { owner: Person; scope: ApiKeyScope };
  expect: Record<CallerKind, Outcome>;
  upload?: boolean;
  /** The uploaded file's bytes and name (default: an ONNX model). */
  file?: { bytes: Buffer; filename: string };
};

const BAD_KEYS = { revokedKey: 'UNAUTHENTICATED', expiredKey: 'UNAUTHENTICATED' } as const;
const ONNX = readFileSync(new URL('../fixtures/models/elementwise.onnx', import.meta.url));

// Resources, fresh per call.
const model = async (w: World, owner: Person = 'publisher') => w.f.model(w.users[owner]);
const version = async (w: World) => w.f.version(await model(w));
const review = async (w: World) => w.f.review(await model(w), w.users.consumer, 4);
const keyOf = async (w: World, owner: Person) => {
  const secret = await apiKeyFor(w.server.app, w.users[owner], [ApiKeyScope.MODELS_READ]);
  const row = await w.server.app.db.orm.em
    .fork()
    .findOneOrFail(ApiKey, { prefix: secret.slice(0, 12), user: w.users[owner].id });
  return row.id;
};
/** A queued job of `consumer`'s (a row as createPrediction leaves it, without running it). */
const job = async (w: World) => {
  const m = await model(w);
  const v = await storedVersion(w.server.app, m, 'elementwise');
  const em = w.server.app.db.orm.em.fork();
  const p = em.create(Prediction, {
    user: w.users.consumer.id,
    model: m.id,
    version: v.id,
    mode: PredictionMode.ASYNC,
    status: PredictionStatus.QUEUED,
    inputs: null,
    outputs: null,
    currency: 'USD',
  });
  await em.flush();
  return p.id;
};
/** A queued batch of `consumer`'s (as createBatchPrediction leaves it, its file never read). */
const batch = async (w: World) => {
  const m = await model(w);
  const v = await storedVersion(w.server.app, m, 'elementwise');
  const em = w.server.app.db.orm.em.fork();
  const b = em.create(BatchPrediction, {
    user: w.users.consumer.id,
    model: m.id,
    version: v.id,
    totalRows: 1,
    inputKey: `batches/${randomUUID()}/input.jsonl`,
    inputBytes: 1,
    unitPrice: '0',
    freeAllowance: 0,
    currency: 'USD',
  });
  await em.flush();
  return b.id;
};
const BATCH_FILE = Buffer.from('{"inputs":[{"name":"x","dtype":"float32","shape":[1,4],"data":[1,2,3,4]}]}\n');
/** A finished job of `consumer`'s, its outputs still kept. */
const finishedJob = async (w: World) => {
  const id = await job(w);
  await w.server.app.db.orm.em
    .fork()
    .execute(`update predictions set status = 'SUCCEEDED', completed_at = now(), outputs = '[]'::jsonb where id = ?`, [
      id,
    ]);
  return id;
};
const invoice = async (w: World) => {
  const em = w.server.app.db.orm.em.fork();
  const n = w.seq();
  const inv = em.create(Invoice, {
    user: w.users.consumer,
    number: 900_000 + n,
    periodStart: `2020-${String((n % 12) + 1).padStart(2, '0')}-01`,
    periodEnd: `2020-${String((n % 12) + 1).padStart(2, '0')}-28`,
    subtotal: '0',
    total: '0',
  } as never);
  await em.flush();
  return inv.id;
};

const ROWS: Row[] = [
  // ---- accounts and keys ---------------------------------------------------------------------
  {
    field: 'Mutation.register',
    document: 'mutation($input: RegisterInput!) { register(input: $input) { accessToken } }',
    prepare: async (w) => ({
      input: { email: `reg${w.seq()}@example.test`, password: 'a long enough pass', displayName: 'R' },
    }),
    key: { owner: 'consumer', scope: ApiKeyScope.MODELS_READ },
    expect: {
      anonymous: 'OK',
      consumer: 'OK',
      otherConsumer: 'OK',
      publisher: 'OK',
      otherPublisher: 'OK',
      admin: 'OK',
      keyWithScope: 'OK',
      keyWithoutScope: 'OK',
      ...BAD_KEYS,
    },
  },
  {
    field: 'Mutation.login',
    document: 'mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken } }',
    prepare: async () => ({ e: 'nobody@example.test', p: 'wrong password' }),
    key: { owner: 'consumer', scope: ApiKeyScope.MODELS_READ },
    expect: {
      anonymous: 'UNAUTHENTICATED',
      consumer: 'UNAUTHENTICATED',
      otherConsumer: 'UNAUTHENTICATED',
      publisher: 'UNAUTHENTICATED',
      otherPublisher: 'UNAUTHENTICATED',
      admin: 'UNAUTHENTICATED',
      keyWithScope: 'UNAUTHENTICATED',
      keyWithoutScope: 'UNAUTHENTICATED',
      ...BAD_KEYS,
    },
  },
  {
    field: 'Mutation.refreshToken',
    document: 'mutation($t: String!) { refreshToken(refreshToken: $t) { accessToken } }',
    prepare: async (w) => {
      const res = await w.server.gql<{ register: { refreshToken: string } }>(
        'mutation($input: RegisterInput!) { register(input: $input) { refreshToken } }',
        {
          input: {
            email: `ref${w.seq()}-${randomUUID()}@example.test`,
            password: 'a long enough pass',
            displayName: 'R',
          },
        },
      );
      return { t: res.data!.register.refreshToken };
    },
    key: { owner: 'consumer', scope: ApiKeyScope.MODELS_READ },
    expect: {
      anonymous: 'OK',
      consumer: 'OK',
      otherConsumer: 'OK',
      publisher: 'OK',
      otherPublisher: 'OK',
      admin: 'OK',
      keyWithScope: 'OK',
      keyWithoutScope: 'OK',
      ...BAD_KEYS,
    },
  },
  {
    field: 'Mutation.logout',
    document: 'mutation { logout(refreshToken: "aimrt_unknown") }',
    key: { owner: 'consumer', scope: ApiKeyScope.MODELS_READ },
    expect: {
      anonymous: 'OK',
      consumer: 'OK',
      otherConsumer: 'OK',
      publisher: 'OK',
      otherPublisher: 'OK',
      admin: 'OK',
      keyWithScope: 'OK',
      keyWithoutScope: 'OK',
      ...BAD_KEYS,
    },
  },
  {
    field: 'Query.me',
    document: '{ me { id } }',
    key: { owner: 'consumer', scope: ApiKeyScope.MODELS_READ },
    expect: {
      anonymous: 'UNAUTHENTICATED',
      consumer: 'OK',
      otherConsumer: 'OK',
      publisher: 'OK',
      otherPublisher: 'OK',
      admin: 'OK',
      keyWithScope: 'OK',
      keyWithoutScope: 'OK',
      ...BAD_KEYS,
    },
  },
  {
    field: 'Mutation.createApiKey',
    document: 'mutation { createApiKey(input: { name: "k", scopes: ["models:read"] }) { secret } }',
    key: { owner: 'consumer', scope: ApiKeyScope.MODELS_READ },
    expect: {
      anonymous: 'UNAUTHENTICATED',
      consumer: 'OK',
      otherConsumer: 'OK',
      publisher: 'OK',
      otherPublisher: 'OK',
      admin: 'OK',
      keyWithScope: 'FORBIDDEN',
      keyWithoutScope: 'FORBIDDEN',
      ...BAD_KEYS,
    },
  },
  {
    field: 'Query.apiKeys',
    document: '{ apiKeys { id } }',
    key: { owner: 'consumer', scope: ApiKeyScope.MODELS_READ },
    expect: {
      anonymous: 'UNAUTHENTICATED',
      consumer: 'OK',
      otherConsumer: 'OK',
      publisher: 'OK',
      otherPublisher: 'OK',
      admin: 'OK',
      keyWithScope: 'FORBIDDEN',
      keyWithoutScope: 'FORBIDDEN',
      ...BAD_KEYS,
    },
  },
  {
    field: 'Mutation.revokeApiKey',
    document: 'mutation($id: ID!) { revokeApiKey(id: $id) { id } }',
    prepare: async (w) => ({ id: await keyOf(w, 'consumer') }),
    key: { owner: 'consumer', scope: ApiKeyScope.MODELS_READ },
    expect: {
      anonymous: 'UNAUTHENTICATED',
      consumer: 'OK',
      otherConsumer: 'NOT_FOUND',
      publisher: 'NOT_FOUND',
      otherPublisher: 'NOT_FOUND',
      admin: 'OK',
      keyWithScope: 'FORBIDDEN',
      keyWithoutScope: 'FORBIDDEN',
      ...BAD_KEYS,
    },
  },
  {
    field: 'Mutation.rotateApiKey',
    document: 'mutation($id: ID!) { rotateApiKey(id: $id) { secret } }',
    prepare: async (w) => ({ id: await keyOf(w, 'consumer') }),
    key: { owner: 'consumer', scope: ApiKeyScope.MODELS_READ },
    expect: {
      anonymous: 'UNAUTHENTICATED',
      consumer: 'OK',
      otherConsumer: 'NOT_FOUND',
      publisher: 'NOT_FOUND',
      otherPublisher: 'NOT_FOUND',
      admin: 'OK',
      keyWithScope: 'FORBIDDEN',
      keyWithoutScope: 'FORBIDDEN',
      ...BAD_KEYS,
    },
  },

  // ---- catalog -------------------------------------------------------------------------------
  {
    field: 'Mutation.createModel',
    document: 'mutation($input: CreateModelInput!) { createModel(input: $input) { id } }',
    prepare: async (w) => ({
      input: {
        slug: `m-${w.seq()}-${randomUUID().slice(0, 8)}`,
        name: 'M',
        task: 'regression',
        pricePerRequest: '0.001',
      },
    }),
    key: { owner: 'publisher', scope: ApiKeyScope.MODELS_WRITE },
    expect: {
      anonymous: 'UNAUTHENTICATED',
      consumer: 'FORBIDDEN',
      otherConsumer: 'FORBIDDEN',
      publisher: 'OK',
      otherPublisher: 'OK',
      admin: 'OK',
      keyWithScope: 'OK',
      keyWithoutScope: 'FORBIDDEN',
      ...BAD_KEYS,
    },
  },
  {
    field: 'Mutation.updateModel',
    document: 'mutation($id: ID!) { updateModel(id: $id, input: { name: "Renamed" }) { id } }',
    prepare: async (w) => ({ id: (await model(w)).id }),
    key: { owner: 'publisher', scope: ApiKeyScope.MODELS_WRITE },
    expect: {
      anonymous: 'UNAUTHENTICATED',
      consumer: 'FORBIDDEN',
      otherConsumer: 'FORBIDDEN',
      publisher: 'OK',
      otherPublisher: 'FORBIDDEN',
      admin: 'OK',
      keyWithScope: 'OK',
      keyWithoutScope: 'FORBIDDEN',
      ...BAD_KEYS,
    },
  },
  {
    field: 'Mutation.deleteModel',
    document: 'mutation($id: ID!) { deleteModel(id: $id) { id } }',
    prepare: async (w) => ({ id: (await model(w)).id }),
    key: { owner: 'publisher', scope: ApiKeyScope.MODELS_WRITE },
    expect: {
      anonymous: 'UNAUTHENTICATED',
      consumer: 'FORBIDDEN',
      otherConsumer: 'FORBIDDEN',
      publisher: 'OK',
      otherPublisher: 'FORBIDDEN',
      admin: 'OK',
      keyWithScope: 'OK',
      keyWithoutScope: 'FORBIDDEN',
      ...BAD_KEYS,
    },
  },
  {
    field: 'Mutation.uploadModelVersion',
    document:
      'mutation($modelId: ID!, $version: String!, $file: Upload!) { uploadModelVersion(modelId: $modelId, version: $version, file: $file) { id } }',
    prepare: async (w) => ({ modelId: (await model(w)).id, version: '1.0.0' }),
    upload: true,
    key: { owner: 'publisher', scope: ApiKeyScope.MODELS_WRITE },
    expect: {
      anonymous: 'UNAUTHENTICATED',
      consumer: 'FORBIDDEN',
      otherConsumer: 'FORBIDDEN',
      publisher: 'OK',
      otherPublisher: 'FORBIDDEN',
      admin: 'OK',
      keyWithScope: 'OK',
      keyWithoutScope: 'FORBIDDEN',
      ...BAD_KEYS,
    },
  },
  {
    field: 'Mutation.updateVersionMetadata',
    document:
      'mutation($id: ID!) { updateVersionMetadata(versionId: $id, metadata: { outputs: [{ name: "y", description: "the output" }] }) { id } }',
    prepare: async (w) => ({ id: (await version(w)).id }),
    key: { owner: 'publisher', scope: ApiKeyScope.MODELS_WRITE },
    expect: {
      anonymous: 'UNAUTHENTICATED',
      consumer: 'FORBIDDEN',
      otherConsumer: 'FORBIDDEN',
      publisher: 'OK',
      otherPublisher: 'FORBIDDEN',
      admin: 'OK',
      keyWithScope: 'OK',
      keyWithoutScope: 'FORBIDDEN',
      ...BAD_KEYS,
    },
  },
  {
    field: 'Mutation.setDefaultVersion',
    document: 'mutation($id: ID!) { setDefaultVersion(versionId: $id) { id } }',
    prepare: async (w) => ({ id: (await version(w)).id }),
    key: { owner: 'publisher', scope: ApiKeyScope.MODELS_WRITE },
    expect: {
      anonymous: 'UNAUTHENTICATED',
      consumer: 'FORBIDDEN',
      otherConsumer: 'FORBIDDEN',
      publisher: 'OK',
      otherPublisher: 'FORBIDDEN',
      admin: 'OK',
      keyWithScope: 'OK',
      keyWithoutScope: 'FORBIDDEN',
      ...BAD_KEYS,
    },
  },
  {
    field: 'Mutation.deleteModelVersion',
    document: 'mutation($id: ID!) { deleteModelVersion(versionId: $id) }',
    // Not the default and never run: the one kind a publisher may delete.
    prepare: async (w) => ({ id: (await w.f.version(await model(w), { makeDefault: false })).id }),
    key: { owner: 'publisher', scope: ApiKeyScope.MODELS_WRITE },
    expect: {
      anonymous: 'UNAUTHENTICATED',
      consumer: 'FORBIDDEN',
      otherConsumer: 'FORBIDDEN',
      publisher: 'OK',
      otherPublisher: 'FORBIDDEN',
      admin: 'OK',
      keyWithScope: 'OK',
      keyWithoutScope: 'FORBIDDEN',
      ...BAD_KEYS,
    },
  },
  {
    field: 'Mutation.deprecateVersion',
    document: 'mutation($id: ID!) { deprecateVersion(versionId: $id) { id } }',
    prepare: async (w) => ({ id: (await version(w)).id }),
    key: { owner: 'publisher', scope: ApiKeyScope.MODELS_WRITE },
    expect: {
      anonymous: 'UNAUTHENTICATED',
      consumer: 'FORBIDDEN',
      otherConsumer: 'FORBIDDEN',
      publisher: 'OK',
      otherPublisher: 'FORBIDDEN',
      admin: 'OK',
      keyWithScope: 'OK',
      keyWithoutScope: 'FORBIDDEN',
      ...BAD_KEYS,
    },
  },
  {
    field: 'Query.modelAnalytics',
    document: 'query($id: ID!) { modelAnalytics(modelId: $id) { predictions } }',
    prepare: async (w) => ({ id: (await model(w)).id }),
    key: { owner: 'publisher', scope: ApiKeyScope.MODELS_READ },
    // Someone else's analytics: NOT_FOUND (the service does not confirm whose model it is).
    expect: {
      anonymous: 'UNAUTHENTICATED',
      consumer: 'NOT_FOUND',
      otherConsumer: 'NOT_FOUND',
      publisher: 'OK',
      otherPublisher: 'NOT_FOUND',
      admin: 'OK',
      keyWithScope: 'OK',
      keyWithoutScope: 'FORBIDDEN',
      ...BAD_KEYS,
    },
  },

  // ---- reviews -------------------------------------------------------------------------------
  {
    field: 'Mutation.createReview',
    document: 'mutation($id: ID!) { createReview(modelId: $id, input: { rating: 5, title: "Good" }) { id } }',
    prepare: async (w) => ({ id: (await model(w)).id }),
    key: { owner: 'consumer', scope: ApiKeyScope.MODELS_READ },
    expect: {
      anonymous: 'UNAUTHENTICATED',
      consumer: 'OK',
      otherConsumer: 'OK',
      publisher: 'FORBIDDEN',
      otherPublisher: 'OK',
      admin: 'OK',
      keyWithScope: 'FORBIDDEN',
      keyWithoutScope: 'FORBIDDEN',
      ...BAD_KEYS,
    },
  },
  {
    field: 'Mutation.updateReview',
    document: 'mutation($id: ID!) { updateReview(reviewId: $id, input: { rating: 3 }) { id } }',
    prepare: async (w) => ({ id: (await review(w)).id }),
    key: { owner: 'consumer', scope: ApiKeyScope.MODELS_READ },
    expect: {
      anonymous: 'UNAUTHENTICATED',
      consumer: 'OK',
      otherConsumer: 'FORBIDDEN',
      publisher: 'FORBIDDEN',
      otherPublisher: 'FORBIDDEN',
      admin: 'FORBIDDEN',
      keyWithScope: 'FORBIDDEN',
      keyWithoutScope: 'FORBIDDEN',
      ...BAD_KEYS,
    },
  },
  {
    field: 'Mutation.deleteReview',
    document: 'mutation($id: ID!) { deleteReview(reviewId: $id) }',
    prepare: async (w) => ({ id: (await review(w)).id }),
    key: { owner: 'consumer', scope: ApiKeyScope.MODELS_READ },
    expect: {
      anonymous: 'UNAUTHENTICATED',
      consumer: 'OK',
      otherConsumer: 'FORBIDDEN',
      publisher: 'FORBIDDEN',
      otherPublisher: 'FORBIDDEN',
      admin: 'OK',
      keyWithScope: 'FORBIDDEN',
      keyWithoutScope: 'FORBIDDEN',
      ...BAD_KEYS,
    },
  },
  {
    field: 'Mutation.markReviewHelpful',
    document: 'mutation($id: ID!) { markReviewHelpful(reviewId: $id) { id } }',
    prepare: async (w) => ({ id: (await review(w)).id }),
    key: { owner: 'consumer', scope: ApiKeyScope.MODELS_READ },
    expect: {
      anonymous: 'UNAUTHENTICATED',
      consumer: 'FORBIDDEN',
      otherConsumer: 'OK',
      publisher: 'OK',
      otherPublisher: 'OK',
      admin: 'OK',
      keyWithScope: 'FORBIDDEN',
      keyWithoutScope: 'FORBIDDEN',
      ...BAD_KEYS,
    },
  },
  {
    field: 'Mutation.replyToReview',
    document: 'mutation($id: ID!) { replyToReview(reviewId: $id, body: "Thanks") { id } }',
    prepare: async (w) => ({ id: (await review(w)).id }),
    key: { owner: 'publisher', scope: ApiKeyScope.MODELS_WRITE },
    expect: {
      anonymous: 'UNAUTHENTICATED',
      consumer: 'FORBIDDEN',
      otherConsumer: 'FORBIDDEN',
      publisher: 'OK',
      otherPublisher: 'FORBIDDEN',
      admin: 'FORBIDDEN',
      keyWithScope: 'FORBIDDEN',
      keyWithoutScope: 'FORBIDDEN',
      ...BAD_KEYS,
    },
  },
  {
    field: 'Mutation.moderateReview',
    document: 'mutation($id: ID!) { moderateReview(reviewId: $id, hidden: true) { id } }',
    prepare: async (w) => ({ id: (await review(w)).id }),
    key: { owner: 'admin', scope: ApiKeyScope.MODELS_WRITE },
    expect: {
      anonymous: 'UNAUTHENTICATED',
      consumer: 'FORBIDDEN',
      otherConsumer: 'FORBIDDEN',
      publisher: 'FORBIDDEN',
      otherPublisher: 'FORBIDDEN',
      admin: 'OK',
      keyWithScope: 'FORBIDDEN',
      keyWithoutScope: 'FORBIDDEN',
      ...BAD_KEYS,
    },
  },

  // ---- inference -----------------------------------------------------------------------------
  {
    field: 'Mutation.predict',
    document:
      'mutation($id: ID!) { predict(modelId: $id, inputs: [{ name: "x", dtype: "float32", shape: [1, 4], data: [1, 2, 3, 4] }]) { inferenceTimeMs } }',
    prepare: async (w) => {
      const m = await model(w);
      await storedVersion(w.server.app, m, 'elementwise');
      return { id: m.id };
    },
    key: { owner: 'consumer', scope: ApiKeyScope.PREDICT },
    expect: {
      anonymous: 'UNAUTHENTICATED',
      consumer: 'OK',
      otherConsumer: 'OK',
      publisher: 'OK',
      otherPublisher: 'OK',
      admin: 'OK',
      keyWithScope: 'OK',
      keyWithoutScope: 'FORBIDDEN',
      ...BAD_KEYS,
    },
  },

  {
    field: 'Mutation.createPrediction',
    document:
      'mutation($id: ID!) { createPrediction(input: { modelId: $id, inputs: [{ name: "x", dtype: "float32", shape: [1, 4], data: [1, 2, 3, 4] }] }) { id } }',
    prepare: async (w) => {
      const m = await model(w);
      await storedVersion(w.server.app, m, 'elementwise');
      return { id: m.id };
    },
    key: { owner: 'consumer', scope: ApiKeyScope.PREDICT },
    expect: {
      anonymous: 'UNAUTHENTICATED',
      consumer: 'OK',
      otherConsumer: 'OK',
      publisher: 'OK',
      otherPublisher: 'OK',
      admin: 'OK',
      keyWithScope: 'OK',
      keyWithoutScope: 'FORBIDDEN',
      ...BAD_KEYS,
    },
  },
  ...(['Mutation.cancelPrediction', 'Query.prediction'] as const).map((field): Row => ({
    field,
    document:
      field === 'Query.prediction'
        ? 'query($id: ID!) { prediction(id: $id) { id } }'
        : 'mutation($id: ID!) { cancelPrediction(id: $id) { id } }',
    prepare: async (w) => ({ id: await job(w) }),
    key: { owner: 'consumer', scope: ApiKeyScope.PREDICT },
    expect: {
      anonymous: 'UNAUTHENTICATED',
      consumer: 'OK',
      otherConsumer: 'NOT_FOUND',
      publisher: 'NOT_FOUND',
      otherPublisher: 'NOT_FOUND',
      admin: 'OK',
      keyWithScope: 'OK',
      keyWithoutScope: 'FORBIDDEN',
      ...BAD_KEYS,
    },
  })),
  ...(['Mutation.verifyEmail', 'Mutation.resetPassword'] as const).map((field): Row => ({
    field,
    document:
      field === 'Mutation.verifyEmail'
        ? 'mutation($token: String!) { verifyEmail(token: $token) { id } }'
        : 'mutation($token: String!) { resetPassword(token: $token, newPassword: "a long new passphrase") }',
    // A fresh account's mailed token per caller: the link works whoever opens it.
    prepare: async (w) => {
      const user = await w.f.user();
      const purpose =
        field === 'Mutation.verifyEmail' ? AccountTokenPurpose.VERIFY_EMAIL : AccountTokenPurpose.RESET_PASSWORD;
      const { token } = await new AccountTokens().issue(w.server.app.db.orm.em.fork(), user.id, purpose, 60_000);
      return { token };
    },
    key: { owner: 'consumer', scope: ApiKeyScope.MODELS_READ },
    expect: {
      anonymous: 'OK',
      consumer: 'OK',
      otherConsumer: 'OK',
      publisher: 'OK',
      otherPublisher: 'OK',
      admin: 'OK',
      keyWithScope: 'OK',
      keyWithoutScope: 'OK',
      ...BAD_KEYS,
    },
  })),
  {
    field: 'Mutation.requestPasswordReset',
    document: 'mutation($email: String!) { requestPasswordReset(email: $email) }',
    prepare: async (w) => ({ email: (await w.f.user()).email }),
    key: { owner: 'consumer', scope: ApiKeyScope.MODELS_READ },
    expect: {
      anonymous: 'OK',
      consumer: 'OK',
      otherConsumer: 'OK',
      publisher: 'OK',
      otherPublisher: 'OK',
      admin: 'OK',
      keyWithScope: 'OK',
      keyWithoutScope: 'OK',
      ...BAD_KEYS,
    },
  },
  {
    field: 'Mutation.resendVerification',
    document: 'mutation { resendVerification }',
    key: { owner: 'consumer', scope: ApiKeyScope.MODELS_READ },
    expect: {
      anonymous: 'UNAUTHENTICATED',
      consumer: 'OK',
      otherConsumer: 'OK',
      publisher: 'OK',
      otherPublisher: 'OK',
      admin: 'OK',
      keyWithScope: 'FORBIDDEN',
      keyWithoutScope: 'FORBIDDEN',
      ...BAD_KEYS,
    },
  },
  // A wrong password: who gets as far as having it checked (no password changes, no account goes).
  ...(['Mutation.deleteAccount', 'Mutation.changePassword'] as const).map((field): Row => ({
    field,
    document:
      field === 'Mutation.deleteAccount'
        ? 'mutation { deleteAccount(password: "not the password") }'
        : 'mutation { changePassword(currentPassword: "not the password", newPassword: "a long new passphrase") }',
    key: { owner: 'consumer', scope: ApiKeyScope.MODELS_READ },
    expect: {
      anonymous: 'UNAUTHENTICATED',
      consumer: 'BAD_USER_INPUT',
      otherConsumer: 'BAD_USER_INPUT',
      publisher: 'BAD_USER_INPUT',
      otherPublisher: 'BAD_USER_INPUT',
      admin: 'BAD_USER_INPUT',
      keyWithScope: 'FORBIDDEN',
      keyWithoutScope: 'FORBIDDEN',
      ...BAD_KEYS,
    },
  })),
  ...(['Query.usageAlerts', 'Mutation.createUsageAlert'] as const).map((field): Row => ({
    field,
    document:
      field === 'Query.usageAlerts'
        ? '{ usageAlerts { id } }'
        : 'mutation { createUsageAlert(input: { amount: "5.00" }) { id } }',
    key: { owner: 'consumer', scope: ApiKeyScope.BILLING_READ },
    expect: {
      anonymous: 'UNAUTHENTICATED',
      consumer: 'OK',
      otherConsumer: 'OK',
      publisher: 'OK',
      otherPublisher: 'OK',
      admin: 'OK',
      keyWithScope: 'OK',
      keyWithoutScope: 'FORBIDDEN',
      ...BAD_KEYS,
    },
  })),
  {
    field: 'Mutation.deleteUsageAlert',
    document: 'mutation($id: ID!) { deleteUsageAlert(id: $id) }',
    prepare: async (w) => {
      const em = w.server.app.db.orm.em.fork();
      const alert = em.create(UsageAlert, { user: w.users.consumer.id, amount: '5' });
      await em.flush();
      return { id: alert.id };
    },
    key: { owner: 'consumer', scope: ApiKeyScope.BILLING_READ },
    expect: {
      anonymous: 'UNAUTHENTICATED',
      consumer: 'OK',
      otherConsumer: 'NOT_FOUND',
      publisher: 'NOT_FOUND',
      otherPublisher: 'NOT_FOUND',
      admin: 'NOT_FOUND',
      keyWithScope: 'OK',
      keyWithoutScope: 'FORBIDDEN',
      ...BAD_KEYS,
    },
  },
  {
    field: 'Mutation.createBatchPrediction',
    document:
      'mutation($input: CreateBatchPredictionInput!, $file: Upload!) { createBatchPrediction(input: $input, file: $file) { id } }',
    prepare: async (w) => {
      const m = await model(w);
      await storedVersion(w.server.app, m, 'elementwise');
      return { input: { modelId: m.id } };
    },
    upload: true,
    file: { bytes: BATCH_FILE, filename: 'rows.jsonl' },
    key: { owner: 'consumer', scope: ApiKeyScope.PREDICT },
    expect: {
      anonymous: 'UNAUTHENTICATED',
      consumer: 'OK',
      otherConsumer: 'OK',
      publisher: 'OK',
      otherPublisher: 'OK',
      admin: 'OK',
      keyWithScope: 'OK',
      keyWithoutScope: 'FORBIDDEN',
      ...BAD_KEYS,
    },
  },
  ...(['Mutation.cancelBatchPrediction', 'Query.batchPrediction'] as const).map((field): Row => ({
    field,
    document:
      field === 'Query.batchPrediction'
        ? 'query($id: ID!) { batchPrediction(id: $id) { id } }'
        : 'mutation($id: ID!) { cancelBatchPrediction(id: $id) { id } }',
    prepare: async (w) => ({ id: await batch(w) }),
    key: { owner: 'consumer', scope: ApiKeyScope.PREDICT },
    expect: {
      anonymous: 'UNAUTHENTICATED',
      consumer: 'OK',
      otherConsumer: 'NOT_FOUND',
      publisher: 'NOT_FOUND',
      otherPublisher: 'NOT_FOUND',
      admin: 'OK',
      keyWithScope: 'OK',
      keyWithoutScope: 'FORBIDDEN',
      ...BAD_KEYS,
    },
  })),
  {
    field: 'Mutation.deletePredictionData',
    document: 'mutation($id: ID!) { deletePredictionData(id: $id) { id dataRemovedAt } }',
    prepare: async (w) => ({ id: await finishedJob(w) }),
    key: { owner: 'consumer', scope: ApiKeyScope.PREDICT },
    expect: {
      anonymous: 'UNAUTHENTICATED',
      consumer: 'OK',
      otherConsumer: 'NOT_FOUND',
      publisher: 'NOT_FOUND',
      otherPublisher: 'NOT_FOUND',
      admin: 'OK',
      keyWithScope: 'OK',
      keyWithoutScope: 'FORBIDDEN',
      ...BAD_KEYS,
    },
  },
  ...(['Query.webhookSecret', 'Mutation.rotateWebhookSecret'] as const).map((field): Row => ({
    field,
    document: field === 'Query.webhookSecret' ? '{ webhookSecret }' : 'mutation { rotateWebhookSecret }',
    key: { owner: 'consumer', scope: ApiKeyScope.PREDICT },
    expect: {
      anonymous: 'UNAUTHENTICATED',
      consumer: 'OK',
      otherConsumer: 'OK',
      publisher: 'OK',
      otherPublisher: 'OK',
      admin: 'OK',
      keyWithScope: 'FORBIDDEN',
      keyWithoutScope: 'FORBIDDEN',
      ...BAD_KEYS,
    },
  })),
  {
    field: 'Query.predictions',
    document: '{ predictions(first: 5) { totalCount } }',
    key: { owner: 'consumer', scope: ApiKeyScope.PREDICT },
    expect: {
      anonymous: 'UNAUTHENTICATED',
      consumer: 'OK',
      otherConsumer: 'OK',
      publisher: 'OK',
      otherPublisher: 'OK',
      admin: 'OK',
      keyWithScope: 'OK',
      keyWithoutScope: 'FORBIDDEN',
      ...BAD_KEYS,
    },
  },

  // ---- usage and billing ---------------------------------------------------------------------
  {
    field: 'Query.usage',
    document: '{ usage { requests } }',
    key: { owner: 'consumer', scope: ApiKeyScope.BILLING_READ },
    expect: {
      anonymous: 'UNAUTHENTICATED',
      consumer: 'OK',
      otherConsumer: 'OK',
      publisher: 'OK',
      otherPublisher: 'OK',
      admin: 'OK',
      keyWithScope: 'OK',
      keyWithoutScope: 'FORBIDDEN',
      ...BAD_KEYS,
    },
  },
  {
    field: 'Query.invoices',
    document: '{ invoices(first: 5) { totalCount } }',
    key: { owner: 'consumer', scope: ApiKeyScope.BILLING_READ },
    expect: {
      anonymous: 'UNAUTHENTICATED',
      consumer: 'OK',
      otherConsumer: 'OK',
      publisher: 'OK',
      otherPublisher: 'OK',
      admin: 'OK',
      keyWithScope: 'OK',
      keyWithoutScope: 'FORBIDDEN',
      ...BAD_KEYS,
    },
  },
  {
    field: 'Query.invoice',
    document: 'query($id: ID!) { invoice(id: $id) { id } }',
    prepare: async (w) => ({ id: await invoice(w) }),
    key: { owner: 'consumer', scope: ApiKeyScope.BILLING_READ },
    expect: {
      anonymous: 'UNAUTHENTICATED',
      consumer: 'OK',
      otherConsumer: 'NOT_FOUND',
      publisher: 'NOT_FOUND',
      otherPublisher: 'NOT_FOUND',
      admin: 'OK',
      keyWithScope: 'OK',
      keyWithoutScope: 'FORBIDDEN',
      ...BAD_KEYS,
    },
  },
  {
    field: 'Query.earnings',
    document: '{ earnings { platformFeePercent } }',
    key: { owner: 'publisher', scope: ApiKeyScope.BILLING_READ },
    expect: {
      anonymous: 'UNAUTHENTICATED',
      consumer: 'FORBIDDEN',
      otherConsumer: 'FORBIDDEN',
      publisher: 'OK',
      otherPublisher: 'OK',
      admin: 'OK',
      keyWithScope: 'OK',
      keyWithoutScope: 'FORBIDDEN',
      ...BAD_KEYS,
    },
  },
  {
    field: 'Mutation.closeBillingPeriod',
    document: 'mutation($p: DateTime!) { closeBillingPeriod(periodStart: $p) { id } }',
    prepare: async () => ({ p: '2019-01-01T00:00:00Z' }),
    key: { owner: 'admin', scope: ApiKeyScope.BILLING_READ },
    expect: {
      anonymous: 'UNAUTHENTICATED',
      consumer: 'FORBIDDEN',
      otherConsumer: 'FORBIDDEN',
      publisher: 'FORBIDDEN',
      otherPublisher: 'FORBIDDEN',
      admin: 'OK',
      keyWithScope: 'FORBIDDEN',
      keyWithoutScope: 'FORBIDDEN',
      ...BAD_KEYS,
    },
  },
  // Admin-only reads of billing state: the admin's key is refused like every key (no scope opens them).
  ...(
    [
      ['Query.billingFailures', 'query($p: DateTime!) { billingFailures(periodStart: $p) { userId } }'],
      ['Query.cappedUsers', '{ cappedUsers(first: 5) { totalCount } }'],
    ] as const
  ).map(([field, document]): Row => ({
    field,
    document,
    prepare: async () => ({ p: '2019-01-01T00:00:00Z' }),
    key: { owner: 'admin', scope: ApiKeyScope.BILLING_READ },
    expect: {
      anonymous: 'UNAUTHENTICATED',
      consumer: 'FORBIDDEN',
      otherConsumer: 'FORBIDDEN',
      publisher: 'FORBIDDEN',
      otherPublisher: 'FORBIDDEN',
      admin: 'OK',
      keyWithScope: 'FORBIDDEN',
      keyWithoutScope: 'FORBIDDEN',
      ...BAD_KEYS,
    },
  })),
  {
    // Anyone signed in sets their own cap (null: none, so other rows keep running uncapped); no
    // API key may, not even one with billing:read: a leaked key must not lift what it can spend.
    field: 'Mutation.setSpendingCap',
    document: 'mutation { setSpendingCap(amount: null) { id } }',
    key: { owner: 'consumer', scope: ApiKeyScope.BILLING_READ },
    expect: {
      anonymous: 'UNAUTHENTICATED',
      consumer: 'OK',
      otherConsumer: 'OK',
      publisher: 'OK',
      otherPublisher: 'OK',
      admin: 'OK',
      keyWithScope: 'FORBIDDEN',
      keyWithoutScope: 'FORBIDDEN',
      ...BAD_KEYS,
    },
  },
];

/** Queries anyone may run: the catalog. Everything else needs a row above. */
const PUBLIC_QUERIES = ['Query.model', 'Query.models'];

let world: World;
const keys = new Map<string, string>();

beforeAll(async () => {
  const server = await startTestServer();
  const f = new Factory(server.app);
  const users = {
    consumer: await f.user({ role: Role.CONSUMER }),
    otherConsumer: await f.user({ role: Role.CONSUMER }),
    publisher: await f.user({ role: Role.PUBLISHER }),
    otherPublisher: await f.user({ role: Role.PUBLISHER }),
    admin: await f.user({ role: Role.ADMIN }),
  };
  let n = 0;
  world = { server, f, users, seq: () => ++n };
}, 120_000);
afterAll(async () => world?.server.close());

/** The credential headers for one caller kind on one row (keys made once per owner/scope/kind). */
async function headersFor(kind: CallerKind, row: Row): Promise<Record<string, string>> {
  const { app } = world.server;
  if (kind === 'anonymous') return {};
  const isKey = kind.startsWith('key') || kind.endsWith('Key');
  if (!isKey) return { authorization: `Bearer ${await tokenFor(app, world.users[kind as Person])}` };
  const cacheKey = `${kind}:${row.key.owner}:${row.key.scope}`;
  let secret = keys.get(cacheKey);
  if (!secret) {
    const owner = world.users[row.key.owner];
    const others = SCOPES_FOR_ROLE[owner.role].filter((s) => s !== row.key.scope);
    secret = await apiKeyFor(app, owner, kind === 'keyWithoutScope' ? others : [row.key.scope], { expiresInDays: 1 });
    const em = app.db.orm.em.fork();
    const where = { prefix: secret.slice(0, 12), user: owner.id };
    if (kind === 'revokedKey') await em.nativeUpdate(ApiKey, where, { revokedAt: new Date() });
    if (kind === 'expiredKey') await em.nativeUpdate(ApiKey, where, { expiresAt: new Date(Date.now() - 1000) });
    keys.set(cacheKey, secret);
  }
  return { 'x-api-key': secret };
}

async function outcomeOf(row: Row, kind: CallerKind): Promise<string> {
  const variables = (await row.prepare?.(world)) ?? {};
  const headers = await headersFor(kind, row);
  const res = row.upload
    ? await postMultipart(
        world.server.origin,
        parse(row.document) as never,
        variables as never,
        row.file ?? { bytes: ONNX, filename: 'model.onnx' },
        headers,
      )
    : await world.server.gql(row.document, variables, headers);
  const code = res.errors?.[0]?.extensions?.code;
  if (res.errors?.length) return typeof code === 'string' ? code : 'NO_CODE';
  return res.data ? 'OK' : 'NO_DATA';
}

describe.each(ROWS.map((row) => [row.field, row] as const))('%s', (_field, row) => {
  it('gives each caller exactly its outcome', async () => {
    const actual: Record<string, string> = {};
    for (const kind of CALLERS) actual[kind] = await outcomeOf(row, kind);
    expect(actual).toEqual(row.expect);
  });
});

it('has a row for every mutation and every non-public query in the schema', () => {
  const schema = world.server.app.schema;
  const fields = [
    ...Object.keys(schema.getMutationType()?.getFields() ?? {}).map((f) => `Mutation.${f}`),
    ...Object.keys(schema.getQueryType()?.getFields() ?? {}).map((f) => `Query.${f}`),
  ];
  const covered = new Set([...ROWS.map((r) => r.field), ...PUBLIC_QUERIES]);
  expect(fields.filter((f) => !covered.has(f))).toEqual([]);
  for (const row of ROWS) expect(print(parse(row.document))).toContain(row.field.split('.')[1]);
});
