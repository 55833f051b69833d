import { PubSub as InMemoryPubSub, type PubSubEngine } from 'graphql-subscriptions';
import { RedisPubSub } from 'graphql-redis-subscriptions';
import { EventEmitter } from 'node:events';
import { Redis } from 'ioredis';
import type { PubSub as TypeGraphQLPubSub } from 'type-graphql';
import { channelOf, type Topic, type TopicPayloads } from './topics.js';

/**
 * The typed pub/sub seam: in-memory in one process, Redis when REDIS_URL is set, so that an
 * event published by any replica (or worker) reaches subscribers on every replica.
 * Publish only after the transaction that made the event true has committed.
 */
export interface EventBus {
  publish<T extends Topic>(topic: T, key: string, payload: TopicPayloads[T]): Promise<void>;
  /**
   * Events of one topic for one key. Calling `return()` on the iterator (graphql-ws does when a
   * client stops the subscription or disconnects) unsubscribes at once.
   */
  subscribe<T extends Topic>(topic: T, key: string): AsyncIterableIterator<TopicPayloads[T]>;
  /** type-graphql's PubSub shape over the same engine, for `buildSchema({ pubSub })`. */
  readonly typeGraphQL: TypeGraphQLPubSub;
  close(): Promise<void>;
}

class EngineEventBus implements EventBus {
  readonly typeGraphQL: TypeGraphQLPubSub;

  constructor(
    private readonly engine: PubSubEngine,
    private readonly prefix: string,
    private readonly onClose: () => Promise<void>,
  ) {
    this.typeGraphQL = {
      publish: (routingKey, ...args) => void engine.publish(`${prefix}${routingKey}`, args[0]),
      subscribe: (routingKey, dynamicId) =>
        engine.asyncIterableIterator(
          dynamicId === undefined
            ? `${prefix}${routingKey}`
            : `${prefix}${routingKey}:${typeof dynamicId === 'string' ? dynamicId : JSON.stringify(dynamicId)}`,
        ),
    };
  }

  publish<T extends Topic>(topic: T, key: string, payload: TopicPayloads[T]): Promise<void> {
    return this.engine.publish(channelOf(this.prefix, topic, key), payload);
  }

  subscribe<T extends Topic>(topic: T, key: string): AsyncIterableIterator<TopicPayloads[T]> {
    // The engines' iterators subscribe lazily (on the first pull) and their return() runs the
    // engine's unsubscribe (for Redis: UNSUBSCRIBE once the channel's last listener leaves).
    // The pass-through filter settles a pull left pending by return() (see filterEvents).
    return filterEvents(
      this.engine.asyncIterableIterator<TopicPayloads[T]>(channelOf(this.prefix, topic, key)),
      () => true,
    );
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
