import { PubSub as InMemoryPubSub, type PubSubEngine } from 'graphql-subscriptions';
import { RedisPubSub } from 'graphql-redis-subscriptions';
import { EventEmitter } from 'node:events';
import { Redis } from 'ioredis';
import { channelOf, type Topic, type TopicPayloads } from './topics.js';

/**
 * The typed pub/sub seam: in-memory in one process, Redis when REDIS_URL is set, so that an
 * event published by any replica (or worker) reaches subscribers on every replica.
 * Publish only after the transaction that made the event true has committed.
 */
export interface EventBus {
  publish<T extends Topic>(topic: T, key: string, payload: TopicPayloads[T]): Promise<void>;
  /**
   * Events of one topic for one key, from now on: the subscription starts at once, and `ready`
   * settles when it is live (for Redis, once SUBSCRIBE is acknowledged; an event published after
   * that is never missed). Calling `return()` on the iterator (graphql-ws does when a client stops
   * the subscription or disconnects) unsubscribes at once.
   */
  subscribe<T extends Topic>(topic: T, key: string): Subscription<TopicPayloads[T]>;
  close(): Promise<void>;
}

class EngineEventBus implements EventBus {
  constructor(
    private readonly engine: PubSubEngine,
    private readonly prefix: string,
    private readonly onClose: () => Promise<void>,
  ) {}

  publish<T extends Topic>(topic: T, key: string, payload: TopicPayloads[T]): Promise<void> {
    return this.engine.publish(channelOf(this.prefix, topic, key), payload);
  }

  subscribe<T extends Topic>(topic: T, key: string): Subscription<TopicPayloads[T]> {
    return liveSubscription<TopicPayloads[T]>(this.engine, channelOf(this.prefix, topic, key));
  }

  close(): Promise<void> {
    return this.onClose();
  }
}

export function createEventBus(options: { redisUrl?: string; prefix: string }): EventBus {
  if (!options.redisUrl) {
    // Every subscriber of a key is a listener of one event name: hundreds are normal (one user's
    // tabs and devices on myPredictionEvents), not the leak Node's default warning at 11 suspects.
    const emitter = new EventEmitter();
    emitter.setMaxListeners(0);
    return new EngineEventBus(new InMemoryPubSub({ eventEmitter: emitter }), options.prefix, async () => {});
  }
  // Two connections: a Redis connection in subscriber mode can run no other commands.
  // A publish gives up after 1 s rather than waiting out reconnect attempts while Redis is down:
  // the row is the record of truth and streams re-read it (prediction-events.ts), so a lost event
  // costs a subscriber a late update, while a blocked publish held up createPrediction itself
  // (test/chaos/dependency-faults.chaos.test.ts measured 2.4 s during a restart).
  const publisher = new Redis(options.redisUrl, { lazyConnect: false, maxRetriesPerRequest: 3, commandTimeout: 1000 });
  const subscriber = new Redis(options.redisUrl, { lazyConnect: false, maxRetriesPerRequest: null });
  const engine = new RedisPubSub({ publisher, subscriber });
  return new EngineEventBus(engine, options.prefix, async () => {
    await engine.close();
  });
}

const DONE: IteratorReturnResult<undefined> = { done: true, value: undefined };

/** An event stream whose `ready` says when it is live (see EventBus.subscribe). */
export type Subscription<T> = AsyncIterableIterator<T> & {
  readonly ready: Promise<void>;
  return(): Promise<IteratorResult<T>>;
};

/**
 * One channel's events through the engine's own `subscribe(channel, listener)`, which resolves
 * once the subscription is live (graphql-redis-subscriptions: when Redis acknowledges SUBSCRIBE).
 * The engines' async iterators subscribe only on the first pull and say nothing when that is
 * done, so a caller that subscribed, then read the current state, could miss an event published
 * in between: `predictionUpdated` streams then waited for their re-check, about 1% of jobs under
 * the soak's load (test/chaos/soak.chaos.test.ts). Events that arrive before they are pulled are
 * queued; `return()` unsubscribes at once and settles a pending pull as done.
 */
function liveSubscription<T>(engine: PubSubEngine, channel: string): Subscription<T> {
  const queued: T[] = [];
  const pulls: ((result: IteratorResult<T>) => void)[] = [];
  let closed = false;
  let subscriptionId: number | undefined;
  const subscribed = engine.subscribe(
    channel,
    (payload: T) => {
      if (closed) return;
      const pull = pulls.shift();
      if (pull) pull({ done: false, value: payload });
      else queued.push(payload);
    },
    {},
  );
  const ready = subscribed.then((id) => {
    subscriptionId = id;
    if (closed) engine.unsubscribe(id);
  });
  ready.catch(() => undefined); // surfaced by next(); never an unhandled rejection
  const close = () => {
    if (closed) return;
    closed = true;
    queued.length = 0;
    for (const pull of pulls.splice(0)) pull(DONE);
    if (subscriptionId !== undefined) engine.unsubscribe(subscriptionId);
  };
  const iterator: Subscription<T> = {
    ready,
    async next() {
      await ready; // a subscription that could not start (Redis down) fails the stream
      if (queued.length) return { done: false, value: queued.shift()! };
      if (closed) return DONE;
      return new Promise<IteratorResult<T>>((resolve) => pulls.push(resolve));
    },
    async return() {
      close();
      return DONE;
    },
    async throw(error?: unknown) {
      close();
      throw error instanceof Error ? error : new Error(String(error));
    },
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };
  return iterator;
}

/**
 * Keeps the events of `source` that pass `keep`, and — unlike an async generator, whose
 * `return()` waits for a pending `next()` — forwards `return()` to the source immediately, so an
 * unsubscribing client never leaves a listener behind (OpenCTI#16402, mercurius#1120). A `next()`
 * still pending when `return()` is called settles as done: graphql-subscriptions 3's in-memory
 * iterator would otherwise leave it waiting forever (its `return()` clears the queues, then a
 * late pull parks in an empty queue no event will ever reach).
 */
export function filterEvents<T>(
  source: AsyncIterableIterator<T>,
  keep: (event: T) => boolean | Promise<boolean>,
): AsyncIterableIterator<T> {
  let closed = false;
  let signalClosed!: (result: IteratorReturnResult<undefined>) => void;
  const whenClosed = new Promise<IteratorReturnResult<undefined>>((resolve) => (signalClosed = resolve));
  const close = () => {
    closed = true;
    signalClosed(DONE);
  };
  const iterator: AsyncIterableIterator<T> = {
    async next() {
      while (!closed) {
        const result = await Promise.race([source.next(), whenClosed]);
        if (closed || result.done) {
          close();
          return DONE;
        }
        if (await keep(result.value)) return result;
      }
      return DONE;
    },
    async return() {
      close();
      if (source.return) await source.return();
      return DONE;
    },
    async throw(error?: unknown) {
      close();
      if (source.return) await source.return();
      throw error instanceof Error ? error : new Error(String(error));
    },
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };
  return iterator;
}
