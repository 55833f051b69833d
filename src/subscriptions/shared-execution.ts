import { createSourceEventStream, execute, print, type ExecutionArgs, type ExecutionResult } from 'graphql';
import type { Caller } from '../shared/caller.js';

/**
 * graphql-ws's `subscribe`, executing each event ONCE for every subscriber that would get the
 * same result, instead of once per subscriber.
 *
 * graphql-js runs the whole selection set for every event and every subscription
 * (`mapSourceToResponse` in graphql/execution/subscribe.js): 5,000 sockets on one user's
 * `myPredictionEvents` meant 5,000 identical executions of one event, most of the fan-out's time.
 * The pub/sub engines hand one parsed event object to every listener of a channel
 * (graphql-redis-subscriptions' onMessage parses once; graphql-subscriptions' PubSub emits one
 * payload), so results are memoised per event object (weakly: they go with the event) and per
 * subscription "shape": the operation's text and name, its variables, and the caller (user, role,
 * API key and scopes — everything authorization reads). Two subscribers with the same shape
 * receiving the same event run the same resolvers on the same root with the same rights, so
 * they get the same result; the first one's execution serves the others. Results are not
 * mutated downstream (formatWsResult copies before formatting errors).
 *
 * Events that are not objects (nothing to key on) are executed per subscriber as before.
 */
export function sharedSubscribe(callerOf: (contextValue: unknown) => Caller | undefined) {
  const results = new WeakMap<object, Map<string, Promise<ExecutionResult>>>();

  return async (args: ExecutionArgs): Promise<AsyncGenerator<ExecutionResult> | ExecutionResult> => {
    const source = await createSourceEventStream(args);
    if (!isAsyncIterable(source)) return source;
    const shape = shapeKey(args, callerOf(args.contextValue));
    const run = (event: unknown): Promise<ExecutionResult> => {
      const once = () => Promise.resolve(execute({ ...args, rootValue: event }));
      if (event === null || typeof event !== 'object') return once();
      let byShape = results.get(event);
      if (!byShape) {
        byShape = new Map();
        results.set(event, byShape);
      }
      let result = byShape.get(shape);
      if (!result) {
        result = once();
        byShape.set(shape, result);
      }
      return result;
    };
    return mapEvents(source, run);
  };
}

function shapeKey(args: ExecutionArgs, caller: Caller | undefined): string {
  const who =
    caller && caller.kind === 'user'
      ? [caller.userId, caller.role, caller.apiKeyId ?? '', [...(caller.scopes ?? [])].sort().join(',')].join('|')
      : 'anonymous';
  return [print(args.document), args.operationName ?? '', JSON.stringify(args.variableValues ?? {}), who].join('\n');
}

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return typeof (value as AsyncIterable<unknown> | null)?.[Symbol.asyncIterator] === 'function';
}

/**
 * `source` mapped through `run`, forwarding `return()` (a client that stops, a socket that drops)
 * to the source at once so that the pub/sub listener goes with it.
 */
function mapEvents(
  source: AsyncIterable<unknown>,
  run: (event: unknown) => Promise<ExecutionResult>,
): AsyncGenerator<ExecutionResult> {
  const it = source[Symbol.asyncIterator]();
  const close = async () => {
    await it.return?.();
  };
  const mapped: AsyncGenerator<ExecutionResult> = {
    async next() {
      const r = await it.next();
      if (r.done) return { done: true, value: undefined };
      try {
        return { done: false, value: await run(r.value) };
      } catch (err) {
        await close();
        throw err;
      }
    },
    async return() {
      await close();
      return { done: true, value: undefined };
    },
    async throw(error?: unknown) {
      await close();
      throw error instanceof Error ? error : new Error(String(error));
    },
    [Symbol.asyncIterator]() {
      return mapped;
    },
    async [Symbol.asyncDispose]() {
      await close();
    },
  };
  return mapped;
}
