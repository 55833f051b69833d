import { GraphQLObjectType, GraphQLSchema, GraphQLString, parse, type ExecutionResult } from 'graphql';
import { PubSub } from 'graphql-subscriptions';
import type { Caller } from '../shared/caller.js';
import { sharedSubscribe } from './shared-execution.js';

type Ctx = { caller: Caller };
type Event = { id: string };

/** A schema whose subscription field counts how often it is resolved. */
function setup() {
  const pubsub = new PubSub();
  const resolved = { count: 0 };
  let unsubscribed = 0;
  const event = new GraphQLObjectType({
    name: 'Event',
    fields: {
      id: { type: GraphQLString },
      seenBy: {
        type: GraphQLString,
        resolve: (_e, _a, ctx: Ctx) => (ctx.caller.kind === 'user' ? ctx.caller.userId : ''),
      },
    },
  });
  const schema = new GraphQLSchema({
    query: new GraphQLObjectType({ name: 'Query', fields: { ok: { type: GraphQLString } } }),
    subscription: new GraphQLObjectType({
      name: 'Subscription',
      fields: {
        events: {
          type: event,
          subscribe: () => {
            const it = pubsub.asyncIterableIterator<Event | string>('EVENTS');
            const original = it.return.bind(it);
            it.return = () => {
              unsubscribed++;
              return original();
            };
            return it;
          },
          resolve: (e: Event | string) => {
            resolved.count++;
            return typeof e === 'string' ? { id: e } : e;
          },
        },
      },
    }),
  });
  return { pubsub, resolved, schema, unsubscribedCount: () => unsubscribed };
}

const user = (userId: string): Caller => ({ kind: 'user', userId, role: 'CONSUMER' as never });
const subscribe = sharedSubscribe((c) => (c as Ctx).caller);

async function open(schema: GraphQLSchema, query: string, caller: Caller) {
  const r = await subscribe({ schema, document: parse(query), contextValue: { caller } });
  if (!(Symbol.asyncIterator in r)) throw new Error(`not a stream: ${JSON.stringify(r)}`);
  return r;
}

describe('sharedSubscribe', () => {
  it('executes an event once for every subscriber with the same operation and caller', async () => {
    const { pubsub, resolved, schema } = setup();
    const q = 'subscription { events { id seenBy } }';
    const alice = await Promise.all(Array.from({ length: 20 }, () => open(schema, q, user('alice'))));
    const bob = await open(schema, q, user('bob'));
    const other = await open(schema, 'subscription { events { id } }', user('alice'));
    const pulls = [...alice, bob, other].map((s) => s.next());
    await new Promise((r) => setImmediate(r)); // every iterator is listening
    await pubsub.publish('EVENTS', { id: 'e1' });
    const results = (await Promise.all(pulls)).map((r) => r.value as ExecutionResult);
    // alice's 20 share one execution; bob (other rights) and the other selection get their own.
    expect(resolved.count).toBe(3);
    expect(
      results.slice(0, 20).every((r) => JSON.stringify(r.data) === '{"events":{"id":"e1","seenBy":"alice"}}'),
    ).toBe(true);
    expect(results[20].data).toEqual({ events: { id: 'e1', seenBy: 'bob' } });
    expect(results[21].data).toEqual({ events: { id: 'e1' } });
    await Promise.all([...alice, bob, other].map((s) => s.return(undefined)));
  });

  it('executes a new event anew, and non-object events once per subscriber', async () => {
    const { pubsub, resolved, schema } = setup();
    const q = 'subscription { events { id } }';
    const subs = await Promise.all(Array.from({ length: 3 }, () => open(schema, q, user('alice'))));
    let pulls = subs.map((s) => s.next());
    await new Promise((r) => setImmediate(r));
    await pubsub.publish('EVENTS', { id: 'e1' });
    await Promise.all(pulls);
    pulls = subs.map((s) => s.next());
    await pubsub.publish('EVENTS', { id: 'e2' });
    expect((await Promise.all(pulls)).map((r) => (r.value as ExecutionResult).data)).toEqual(
      Array(3).fill({ events: { id: 'e2' } }),
    );
    pulls = subs.map((s) => s.next());
    await pubsub.publish('EVENTS', 'e3');
    await Promise.all(pulls);
    expect(resolved.count).toBe(1 + 1 + 3);
    await Promise.all(subs.map((s) => s.return(undefined)));
  });

  it('unsubscribes from the source when the client stops', async () => {
    const { schema, unsubscribedCount } = setup();
    const s = await open(schema, 'subscription { events { id } }', user('alice'));
    const pending = s.next();
    await new Promise((r) => setImmediate(r));
    await s.return(undefined);
    expect(unsubscribedCount()).toBe(1);
    await expect(pending).resolves.toMatchObject({ done: true });
  });
});
