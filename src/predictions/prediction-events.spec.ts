import { PredictionStatus } from '../entities/enums.js';
import { predictionStreamRecheckDeliveries } from '../observability/metrics.js';
import { createEventBus } from '../subscriptions/event-bus.js';
import type { PredictionEventPayload } from '../subscriptions/topics.js';
import { predictionStream } from './prediction-events.js';

const counted = async () => (await predictionStreamRecheckDeliveries.get()).values[0]?.value ?? 0;
const at = () => new Date().toISOString();
/** The status an iterator step delivered, or 'done'. */
const statusOf = (r: IteratorResult<PredictionEventPayload, unknown>) => (r.done ? 'done' : r.value.status);

it('delivers a state its event never brought from the re-check, and counts it as a lost event', async () => {
  const bus = createEventBus({ prefix: 'spec:' });
  let status: PredictionStatus = PredictionStatus.QUEUED;
  const read = async (): Promise<PredictionEventPayload> => ({ predictionId: 'p1', userId: 'u', status, at: at() });
  const stream = await predictionStream(bus, 'p1', read, { recheckMs: 30 });
  const before = await counted();
  expect(statusOf(await stream.next())).toBe('QUEUED');
  // The row moves on; its event is lost (never published).
  status = PredictionStatus.SUCCEEDED;
  expect(statusOf(await stream.next())).toBe('SUCCEEDED');
  expect(statusOf(await stream.next())).toBe('done');
  expect((await counted()) - before).toBe(1);
  await bus.close();
});

it('counts nothing when the events arrive, however long the job takes', async () => {
  const bus = createEventBus({ prefix: 'spec:' });
  let status: PredictionStatus = PredictionStatus.QUEUED;
  const read = async (): Promise<PredictionEventPayload> => ({ predictionId: 'p2', userId: 'u', status, at: at() });
  const stream = await predictionStream(bus, 'p2', read, { recheckMs: 30 });
  const before = await counted();
  expect(statusOf(await stream.next())).toBe('QUEUED');
  // Slower than several re-checks, with its events published as the row changes.
  const next = stream.next();
  await new Promise((r) => setTimeout(r, 120));
  status = PredictionStatus.RUNNING;
  await bus.publish('PREDICTION_UPDATED', 'p2', { predictionId: 'p2', userId: 'u', status, at: at() });
  expect(statusOf(await next)).toBe('RUNNING');
  status = PredictionStatus.SUCCEEDED;
  await bus.publish('PREDICTION_UPDATED', 'p2', { predictionId: 'p2', userId: 'u', status, at: at() });
  expect(statusOf(await stream.next())).toBe('SUCCEEDED');
  expect((await counted()) - before).toBe(0);
  await stream.return?.();
  await bus.close();
});
