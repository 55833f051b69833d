import { FINAL_PREDICTION_STATUSES, type PredictionStatus } from '../entities/enums.js';
import { predictionStreamRecheckDeliveries } from '../observability/metrics.js';
import type { EventBus } from '../subscriptions/event-bus.js';
import type { PredictionEventPayload } from '../subscriptions/topics.js';

const RECHECK = Symbol('recheck');

/**
 * The live stream of one prediction for `predictionUpdated(id)`: first the state it is in now
 * (a client that subscribes after the job finished still gets its final state, and one that
 * subscribes while it runs misses nothing: we subscribe before reading), then every change, in
 * order, ending after a final state. `return()` (client stops, socket drops) unsubscribes at once.
 * `readCurrent` reads the row (and checks access); if it throws, the subscription is dropped.
 *
 * An event can be lost (published while Redis was down or restarting: the publisher logs it and
 * goes on, the row being the truth). So that a stream never waits forever on a change that has
 * already happened, it reads the row again after `recheckMs` without an event, and delivers the
 * state if it changed (test/chaos/dependency-faults.chaos.test.ts found streams left hanging).
 */
export async function predictionStream(
  bus: EventBus,
  predictionId: string,
  readCurrent: () => Promise<PredictionEventPayload>,
  options: { recheckMs?: number } = {},
): Promise<AsyncIterableIterator<PredictionEventPayload>> {
  const recheckMs = options.recheckMs ?? 0;
  const isFinal = (s: PredictionStatus) => FINAL_PREDICTION_STATUSES.includes(s);
  const source = bus.subscribe('PREDICTION_UPDATED', predictionId);
  // Live before the row is read: a change committed (and published by a worker) between the read
  // and the subscription would otherwise be lost, and the client would wait on a stale state
  // (test/distributed/prediction-stream-race.test.ts). Sending SUBSCRIBE is not enough: until
  // Redis acknowledges it, a publish does not reach us (the soak found ~1% of jobs waiting for
  // their re-check). Events from then on queue in the subscription until pulled. A pull outlives
  // a re-check (below), so it is kept here until it settles.
  let pendingPull: Promise<IteratorResult<PredictionEventPayload>> | null = null;
  let current: PredictionEventPayload;
  try {
    await source.ready;
    current = await readCurrent();
  } catch (err) {
    await source.return?.();
    throw err;
  }
  let pending: PredictionEventPayload | null = current;
  let last: PredictionStatus | null = null;
  let finished = false;

  const waitOrRecheck = async (pull: Promise<IteratorResult<PredictionEventPayload>>) => {
    if (recheckMs <= 0) return pull;
    let timer: NodeJS.Timeout | undefined;
    const tick = new Promise<typeof RECHECK>((resolve) => {
      timer = setTimeout(() => resolve(RECHECK), recheckMs);
      timer.unref();
    });
    try {
      return await Promise.race([pull, tick]);
    } finally {
      clearTimeout(timer);
    }
  };

  const finish = async (): Promise<IteratorResult<PredictionEventPayload>> => {
    finished = true;
    await source.return?.();
    return { done: true, value: undefined };
  };

  const iterator: AsyncIterableIterator<PredictionEventPayload> = {
    async next() {
      if (finished) return { done: true, value: undefined };
      if (last !== null && isFinal(last)) return finish();
      if (pending) {
        const first = pending;
        pending = null;
        last = first.status;
        return { done: false, value: first };
      }
      for (;;) {
        const pull = pendingPull ?? source.next();
        pendingPull = pull;
        const r = await waitOrRecheck(pull);
        if (r === RECHECK) {
          // No event for a while: the row may have moved on without one (the pull stays pending).
          const now = await readCurrent().catch(() => null);
          if (finished) return { done: true, value: undefined };
          if (now && now.status !== last) {
            // Counted: the soak judges lost events on this, not on how long a stream took.
            predictionStreamRecheckDeliveries.inc();
            last = now.status;
            return { done: false, value: now };
          }
          continue;
        }
        pendingPull = null;
        if (r.done) return finish();
        // The snapshot may already have shown this status: no duplicate.
        if (r.value.status === last) continue;
        last = r.value.status;
        return { done: false, value: r.value };
      }
    },
    return: finish,
    async throw(error?: unknown) {
      await finish();
      throw error;
    },
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };
  return iterator;
}

/** Publishes one change on both topics: per prediction and per consumer. */
export async function publishPredictionEvent(bus: EventBus, event: PredictionEventPayload): Promise<void> {
  await Promise.all([
    bus.publish('PREDICTION_UPDATED', event.predictionId, event),
    bus.publish('USER_PREDICTION_EVENTS', event.userId, event),
  ]);
}
