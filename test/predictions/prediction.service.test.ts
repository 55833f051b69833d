// The synchronous prediction path without GraphQL: access, version choice, tensor checks, the
// Prediction row, metering and the model's counter, against a real database and worker pool.
import { ModelVersionStatus, PredictionStatus } from '../../src/entities/enums.js';
import { Model } from '../../src/entities/model.entity.js';
import { Prediction } from '../../src/entities/prediction.entity.js';
import { UsageRecord } from '../../src/entities/usage-record.entity.js';
import { User } from '../../src/entities/user.entity.js';
import type { Metering } from '../../src/billing/metering.types.js';
import { PredictionService, type PredictArgs } from '../../src/predictions/prediction.service.js';
import { Role } from '../../src/entities/enums.js';
import type { Caller } from '../../src/shared/caller.js';
import { AppError } from '../../src/shared/errors.js';
import { Factory } from '../support/factories.js';
import { startTestServer, type TestServer } from '../support/test-server.js';
import { storedVersion } from './prediction-fixtures.js';

let server: TestServer;
let f: Factory;

beforeAll(async () => {
  server = await startTestServer();
  f = new Factory(server.app);
});
afterAll(async () => server?.close());

const ctxFor = (caller: Caller) => ({ em: server.app.db.orm.em.fork(), caller });
const userCaller = (user: User, extra: Partial<Extract<Caller, { kind: 'user' }>> = {}): Caller => ({
  kind: 'user',
  userId: user.id,
  role: user.role,
  ...extra,
});
const X = { name: 'x', dtype: 'float32', shape: [1, 4], data: [-1, 0, 1, 2] };

async function failure(promise: Promise<unknown>): Promise<AppError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AppError);
  return err as AppError;
}

async function predictionsOf(user: User) {
  return server.app.db.orm.em.fork().find(Prediction, { user: user.id }, { orderBy: { createdAt: 'asc' } });
}

describe('predict', () => {
  let publisher: User;
  beforeAll(async () => {
    publisher = await f.user({ role: Role.PUBLISHER });
  });

  it('runs the default version, records a SUCCEEDED prediction, meters it and counts it', async () => {
    const consumer = await f.user();
    const model = await f.model(publisher, { pricePerRequest: '0.0025' });
    const version = await storedVersion(server.app, model, 'elementwise');
    const result = await server.app.services.predictions.predict(ctxFor(userCaller(consumer)), {
      modelId: model.id,
      inputs: [X],
    });
    expect(result.outputs).toEqual([{ name: 'y', dtype: 'float32', shape: [1, 4], data: [0, 1, 3, 5], b64: null }]);
    expect(result.inferenceTimeMs).toBeGreaterThanOrEqual(0);

    const em = server.app.db.orm.em.fork();
    const row = await em.findOneOrFail(Prediction, result.prediction.id);
    expect(row).toMatchObject({
      status: PredictionStatus.SUCCEEDED,
      mode: 'SYNC',
      device: 'cpu',
      batchSize: 1,
    });
    // numeric(20,10) reads back with its scale: the exact decimal, padded.
    expect(row.unitPrice).toMatch(/^0\.00250*$/);
    expect(row.cost).toMatch(/^0\.00250*$/);
    expect(row.version.id).toBe(version.id);
    expect(row.completedAt!.getTime()).toBeGreaterThanOrEqual(row.startedAt!.getTime());
    expect(await em.count(UsageRecord, { prediction: row.id })).toBe(1);
    expect((await em.findOneOrFail(Model, model.id)).predictionCount).toBe(1);
  });

  it('returns b64 outputs on request', async () => {
    const model = await f.model(publisher);
    await storedVersion(server.app, model, 'elementwise');
    const { outputs } = await server.app.services.predictions.predict(ctxFor(userCaller(await f.user())), {
      modelId: model.id,
      inputs: [X],
      outputEncoding: 'B64',
    });
    expect(outputs[0].data).toBeNull();
    expect([...new Float32Array(new Uint8Array(Buffer.from(outputs[0].b64!, 'base64')).buffer)]).toEqual([0, 1, 3, 5]);
  });

  it('counts concurrent predictions without losing any', async () => {
    const consumer = await f.user();
    const model = await f.model(publisher);
    await storedVersion(server.app, model, 'mlp-small');
    const args: PredictArgs = {
      modelId: model.id,
      inputs: [{ name: 'input', dtype: 'float32', shape: [2, 16], data: new Array(32).fill(0.25) }],
    };
    const results = await Promise.all(
      Array.from({ length: 12 }, () => server.app.services.predictions.predict(ctxFor(userCaller(consumer)), args)),
    );
    expect(new Set(results.map((r) => JSON.stringify(r.outputs))).size).toBe(1);
    const em = server.app.db.orm.em.fork();
    expect((await em.findOneOrFail(Model, model.id)).predictionCount).toBe(12);
    expect(await em.count(UsageRecord, { model: model.id })).toBe(12);
  });

  it('refuses anonymous callers and API keys without the predict scope', async () => {
    const model = await f.model(publisher);
    await storedVersion(server.app, model, 'elementwise');
    const service = server.app.services.predictions;
    expect(
      (await failure(service.predict(ctxFor({ kind: 'anonymous' }), { modelId: model.id, inputs: [X] }))).code,
    ).toBe('UNAUTHENTICATED');
    const consumer = await f.user();
    const keyCaller = userCaller(consumer, {
      apiKeyId: '00000000-0000-4000-8000-000000000000',
      scopes: ['models:read'],
    });
    const err = await failure(service.predict(ctxFor(keyCaller), { modelId: model.id, inputs: [X] }));
    expect(err.code).toBe('FORBIDDEN');
    expect(err.details).toMatchObject({ requiredScopes: ['predict'] });
  });

  it('refuses a deprecated default unless pinned, and versions that are not READY', async () => {
    const consumer = userCaller(await f.user());
    const model = await f.model(publisher);
    await storedVersion(server.app, model, 'elementwise', { version: '1.0.0', status: ModelVersionStatus.DEPRECATED });
    await storedVersion(server.app, model, 'elementwise', {
      version: '2.0.0',
      status: ModelVersionStatus.PROCESSING,
      makeDefault: false,
    });
    const service = server.app.services.predictions;
    const unpinned = await failure(service.predict(ctxFor(consumer), { modelId: model.id, inputs: [X] }));
    expect(unpinned).toMatchObject({ code: 'BAD_USER_INPUT', details: { reason: 'DEFAULT_VERSION_DEPRECATED' } });
    const pinned = await service.predict(ctxFor(consumer), { modelId: model.id, version: '1.0.0', inputs: [X] });
    expect(pinned.outputs[0].data).toEqual([0, 1, 3, 5]);
    const processing = await failure(
      service.predict(ctxFor(consumer), { modelId: model.id, version: '2.0.0', inputs: [X] }),
    );
    expect(processing).toMatchObject({ code: 'BAD_USER_INPUT', details: { reason: 'VERSION_NOT_READY' } });
    expect(
      (await failure(service.predict(ctxFor(consumer), { modelId: model.id, version: '9.9.9', inputs: [X] }))).code,
    ).toBe('NOT_FOUND');
    expect((await failure(service.predict(ctxFor(consumer), { modelId: 'nope', inputs: [X] }))).code).toBe('NOT_FOUND');
  });

  it('rejects tensors that do not match the signature before anything runs or is recorded', async () => {
    const consumer = await f.user();
    const model = await f.model(publisher);
    await storedVersion(server.app, model, 'two-inputs');
    const service = server.app.services.predictions;
    const x = { name: 'x', dtype: 'float32', shape: [2, 3], data: [1, 2, 3, 4, 5, 6] };
    const cases: [PredictArgs['inputs'], RegExp][] = [
      [[x], /missing input "k".*the model takes x \(float32 \[batch, 3\]\), k \(int64 \[batch, 3\]\)/],
      [
        [x, { name: 'k', dtype: 'int32', shape: [2, 3], data: [1, 2, 3, 4, 5, 6] }],
        /input "k": dtype int32 given, the model expects int64/,
      ],
      [
        [x, { name: 'k', dtype: 'int64', shape: [3, 3], data: new Array(9).fill(1) }],
        /input "k": dimension 0 \("batch"\) is 3, but input "x" set "batch" to 2/,
      ],
      [
        [x, { name: 'k', dtype: 'int64', shape: [2, 4], data: new Array(8).fill(1) }],
        /input "k": dimension 1 is 4, the model expects 3/,
      ],
      [
        [x, { name: 'k', dtype: 'int64', shape: [2, 3], data: [1, 2, 3] }],
        /input "k": data has 3 elements but its shape needs 6/,
      ],
      [
        [
          x,
          { name: 'k', dtype: 'int64', shape: [2, 3], data: [1, 2, 3, 4, 5, 6] },
          { name: 'z', dtype: 'float32', shape: [1], data: [1] },
        ],
        /unknown input "z"/,
      ],
    ];
    for (const [inputs, message] of cases) {
      const err = await failure(service.predict(ctxFor(userCaller(consumer)), { modelId: model.id, inputs }));
      expect(err.code).toBe('BAD_USER_INPUT');
      expect(err.message).toMatch(message);
    }
    expect(await predictionsOf(consumer)).toHaveLength(0);
  });

  it('records a FAILED prediction, unbilled, when the model throws inside onnxruntime', async () => {
    const consumer = await f.user();
    const model = await f.model(publisher);
    await storedVersion(server.app, model, 'throws');
    const err = await failure(
      server.app.services.predictions.predict(ctxFor(userCaller(consumer)), {
        modelId: model.id,
        inputs: [{ name: 'x', dtype: 'float32', shape: [4], data: [1, 2, 3, 4] }],
      }),
    );
    expect(err).toMatchObject({ code: 'BAD_USER_INPUT', details: { reason: 'MODEL_ERROR' } });
    const [row] = await predictionsOf(consumer);
    expect(row).toMatchObject({ status: PredictionStatus.FAILED, errorCode: 'MODEL_ERROR', cost: null });
    expect(row.errorMessage).toMatch(/reshape/i);
    const em = server.app.db.orm.em.fork();
    expect(await em.count(UsageRecord, { prediction: row.id })).toBe(0);
    expect((await em.findOneOrFail(Model, model.id)).predictionCount).toBe(0);
  });

  it('asks metering before running, and a refusal stops the prediction (real spend cap)', async () => {
    const consumer = await f.user();
    await server.app.db.orm.em.fork().nativeUpdate(User, { id: consumer.id }, { monthlySpendCap: '0' });
    const model = await f.model(publisher, { pricePerRequest: '0.01' });
    await storedVersion(server.app, model, 'elementwise');
    const err = await failure(
      server.app.services.predictions.predict(ctxFor(userCaller(consumer)), { modelId: model.id, inputs: [X] }),
    );
    expect(err.code).toBe('QUOTA_EXCEEDED');
    expect(await predictionsOf(consumer)).toHaveLength(0);
  });

  it('checks the quota alongside inference and records the success in one committed statement', async () => {
    const calls: string[] = [];
    const real = server.app.services.billing.metering;
    const metering: Metering = {
      async accept(em, consumerId, modelId) {
        calls.push('accept');
        return real.accept(em, consumerId, modelId);
      },
      reserve() {
        throw new Error('the synchronous path holds no reservation');
      },
      release() {
        throw new Error('the synchronous path holds no reservation');
      },
      releaseMany() {
        throw new Error('the synchronous path holds no reservation');
      },
      completeSucceeded() {
        throw new Error('the synchronous path records through recordSucceeded');
      },
      async recordSucceeded(em, runs) {
        calls.push(`recordSucceeded:${runs.length}:${em.isInTransaction()}`);
        return real.recordSucceeded(em, runs);
      },
    };
    const engine = {
      run: (...args: Parameters<typeof server.app.inference.run>) => {
        calls.push('run');
        return server.app.inference.run(...args);
      },
      warm: (...args: Parameters<typeof server.app.inference.warm>) => server.app.inference.warm(...args),
    };
    const service = new PredictionService({
      engine,
      storage: server.app.storage,
      metering,
      logger: server.app.logger,
      limits: { maxRequestBytes: 1024, timeoutMs: 10_000 },
    });
    const model = await f.model(publisher);
    await storedVersion(server.app, model, 'elementwise');
    const { prediction } = await service.predict(ctxFor(userCaller(await f.user())), {
      modelId: model.id,
      inputs: [X],
    });
    expect(calls).toEqual(['accept', 'run', 'recordSucceeded:1:false']);
    // Committed by the time predict returns: another connection sees the row and its usage record.
    const other = server.app.db.orm.em.fork();
    expect(await other.count(Prediction, { id: prediction.id, status: PredictionStatus.SUCCEEDED })).toBe(1);
    expect(await other.count(UsageRecord, { prediction: prediction.id })).toBe(1);
    const big = { ...X, shape: [300, 4], data: new Array(1200).fill(0) };
    const err = await failure(
      service.predict(ctxFor(userCaller(await f.user())), { modelId: model.id, inputs: [big] }),
    );
    expect(err.code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('warms a stored version in the pool so its session is cached before the first request', async () => {
    const model = await f.model(publisher);
    const version = await storedVersion(server.app, model, 'mlp-small');
    expect(await server.app.services.predictions.warmVersion(version)).toEqual({ warmupError: undefined });
    const stats = await server.app.inference.stats();
    expect(stats.every((s) => s.sessions.includes(version.id))).toBe(true);
  });
});
