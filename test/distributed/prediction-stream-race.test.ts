// `predictionUpdated(id)` on one replica while a worker elsewhere finishes the job: the replica
// reads the row (QUEUED), and the worker's SUCCEEDED event is published before the client's
// stream has pulled past that snapshot. The stream must still deliver SUCCEEDED and end; before
// the fix, the pub/sub engines subscribed lazily on the stream's second pull, so such an event
// was lost and the client waited on QUEUED forever.
import { PredictionStatus, Role } from '../../src/entities/enums.js';
import { buildContext } from '../../src/graphql/build-context.js';
import { publishPredictionEvent } from '../../src/predictions/prediction-events.js';
import { storedVersion } from '../predictions/prediction-fixtures.js';
import { Factory } from '../support/factories.js';
import { startTestServer, type TestServer } from '../support/test-server.js';

let server: TestServer;
beforeAll(async () => {
  // No worker here: the test plays the worker's part itself.
  // A short recheck, for the lost-event test below.
  server = await startTestServer({ RUN_JOBS: 'false', PREDICTION_STREAM_RECHECK_MS: '200' });
}, 60_000);
afterAll(async () => server?.close());

/** The iterator's next result, or a failure naming what never came (a bound, not a timing check). */
async function nextOrFail<T>(it: AsyncIterator<T>, what: string): Promise<IteratorResult<T>> {
  let timer: NodeJS.Timeout | undefined;
  const never = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the stream never delivered ${what}`)), 5000);
  });
  try {
    return await Promise.race([it.next(), never]);
  } finally {
    clearTimeout(timer);
  }
}

it('delivers a change published between the snapshot read and the first pull', async () => {
  const app = server.app;
  const f = new Factory(app);
  const consumer = await f.user();
  const model = await f.model(await f.user({ role: Role.PUBLISHER }));
  await storedVersion(app, model, 'elementwise', { version: '1.0.0' });
  const ctx = () =>
    buildContext(() => app.db.orm.em.fork(), { caller: { kind: 'user', userId: consumer.id, role: consumer.role } });
  const job = await app.services.predictionJobs.create(ctx(), {
    modelId: model.id,
    inputs: [{ name: 'x', dtype: 'float32', shape: [1, 4], data: [1, 2, 3, 4] }],
  });

  // The replica has read the row (QUEUED) and handed the stream to graphql-ws...
  const stream = await app.services.predictionJobs.updates(ctx(), job.id);
  // ...when a worker commits SUCCEEDED and publishes it.
  await app.db.orm.em
    .fork()
    .execute(`update predictions set status = 'SUCCEEDED', completed_at = now() where id = ?`, [job.id]);
  await publishPredictionEvent(app.events, {
    predictionId: job.id,
    userId: consumer.id,
    status: PredictionStatus.SUCCEEDED,
    at: new Date().toISOString(),
  });

  expect((await nextOrFail(stream, 'the snapshot')).value).toMatchObject({ status: 'QUEUED' });
  expect((await nextOrFail(stream, 'SUCCEEDED')).value).toMatchObject({ status: 'SUCCEEDED' });
  expect((await nextOrFail(stream, 'its end')).done).toBe(true);
});

// Found by test/chaos/dependency-faults.chaos.test.ts: a job that finished while Redis was
// restarting had its SUCCEEDED event lost (the publisher logs it and goes on), and its
// `predictionUpdated` subscribers waited on RUNNING forever. The stream now re-reads the row
// after PREDICTION_STREAM_RECHECK_MS without an event.
it('ends with the final state when the final event was never published', async () => {
  const app = server.app;
  const f = new Factory(app);
  const consumer = await f.user();
  const model = await f.model(await f.user({ role: Role.PUBLISHER }));
  await storedVersion(app, model, 'elementwise', { version: '1.0.0' });
  const ctx = () =>
    buildContext(() => app.db.orm.em.fork(), { caller: { kind: 'user', userId: consumer.id, role: consumer.role } });
  const job = await app.services.predictionJobs.create(ctx(), {
    modelId: model.id,
    inputs: [{ name: 'x', dtype: 'float32', shape: [1, 4], data: [1, 2, 3, 4] }],
  });
  const stream = await app.services.predictionJobs.updates(ctx(), job.id);
  expect((await nextOrFail(stream, 'the snapshot')).value).toMatchObject({ status: 'QUEUED' });
  // A worker commits SUCCEEDED; its event is lost (nothing is published).
  await app.db.orm.em
    .fork()
    .execute(`update predictions set status = 'SUCCEEDED', completed_at = now() where id = ?`, [job.id]);
  expect((await nextOrFail(stream, 'SUCCEEDED')).value).toMatchObject({ status: 'SUCCEEDED' });
  expect((await nextOrFail(stream, 'its end')).done).toBe(true);
});

it('lets go of the subscription when the caller may not see the prediction', async () => {
  const app = server.app;
  const f = new Factory(app);
  const owner = await f.user();
  const stranger = await f.user();
  const model = await f.model(await f.user({ role: Role.PUBLISHER }));
  await storedVersion(app, model, 'elementwise', { version: '1.0.0' });
  const job = await app.services.predictionJobs.create(
    buildContext(() => app.db.orm.em.fork(), { caller: { kind: 'user', userId: owner.id, role: owner.role } }),
    { modelId: model.id, inputs: [{ name: 'x', dtype: 'float32', shape: [1, 4], data: [1, 2, 3, 4] }] },
  );
  const engine = (app.events as unknown as { engine: { ee: { listenerCount(name: string): number } } }).engine;
  const channel = `${app.config.pubSubPrefix}PREDICTION_UPDATED:${job.id}`;
  const strangerCtx = buildContext(() => app.db.orm.em.fork(), {
    caller: { kind: 'user', userId: stranger.id, role: stranger.role },
  });
  await expect(app.services.predictionJobs.updates(strangerCtx, job.id)).rejects.toMatchObject({
    code: 'NOT_FOUND',
  });
  expect(engine.ee.listenerCount(channel)).toBe(0);
});
