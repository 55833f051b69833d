import type { EntityManager } from '@mikro-orm/postgresql';
import { Role } from '../entities/enums.js';
import { UserStatusCache } from './user-status-cache.js';

/**
 * A lookup over an in-memory table that counts its reads; each read sees the table as it is when
 * the read starts (like a SELECT) and answers only at `release()`.
 */
function fakeLookup(table: Map<string, Role | null>) {
  const calls: string[] = [];
  let gates: (() => void)[] = [];
  const lookup = async (_em: EntityManager, userId: string) => {
    calls.push(userId);
    const seen = table.get(userId) ?? null;
    await new Promise<void>((resolve) => gates.push(resolve));
    return seen;
  };
  const release = async () => {
    // Let the reads reach their gate first, then open every gate.
    await new Promise((r) => setImmediate(r));
    const open = gates;
    gates = [];
    open.forEach((go) => go());
    await new Promise((r) => setImmediate(r));
  };
  return { lookup, calls, release };
}

const fork = () => ({}) as EntityManager;

describe('UserStatusCache', () => {
  it('shares one read between concurrent misses for the same user, and forks only for it', async () => {
    const fake = fakeLookup(new Map([['u1', Role.PUBLISHER]]));
    const cache = new UserStatusCache({ ttlSeconds: 30 }, fake.lookup);
    let forks = 0;
    const em = () => (forks++, fork());
    const reads = Promise.all([cache.read(em, 'u1'), cache.read(em, 'u1'), cache.read(em, 'u1')]);
    await fake.release();
    expect(await reads).toEqual([Role.PUBLISHER, Role.PUBLISHER, Role.PUBLISHER]);
    expect(fake.calls).toEqual(['u1']);
    expect(forks).toBe(1);
    expect(cache.peek('u1')).toBe(Role.PUBLISHER);
  });

  it('reads each user separately, and remembers a missing account as null', async () => {
    const fake = fakeLookup(new Map([['u1', Role.CONSUMER]]));
    const cache = new UserStatusCache({ ttlSeconds: 30 }, fake.lookup);
    const reads = Promise.all([cache.read(fork, 'u1'), cache.read(fork, 'gone')]);
    await fake.release();
    expect(await reads).toEqual([Role.CONSUMER, null]);
    expect(fake.calls).toEqual(['u1', 'gone']);
    expect(cache.peek('gone')).toBeNull();
    expect(cache.peek('never-read')).toBeUndefined();
  });

  it('forgets an answer after the TTL', async () => {
    const table = new Map<string, Role | null>([['u1', Role.ADMIN]]);
    const fake = fakeLookup(table);
    const cache = new UserStatusCache({ ttlSeconds: 30 }, fake.lookup);
    const read = cache.read(fork, 'u1');
    await fake.release();
    await read;
    expect(cache.peek('u1', Date.now() + 29_000)).toBe(Role.ADMIN);
    expect(cache.peek('u1', Date.now() + 31_000)).toBeUndefined();
  });

  it('forget drops the entry at once, and a read that began before it is not kept', async () => {
    const table = new Map<string, Role | null>([['u1', Role.ADMIN]]);
    const fake = fakeLookup(table);
    const cache = new UserStatusCache({ ttlSeconds: 30 }, fake.lookup);
    const first = cache.read(fork, 'u1');
    await fake.release();
    await first;
    expect(cache.peek('u1')).toBe(Role.ADMIN);

    cache.forget('u1');
    expect(cache.peek('u1')).toBeUndefined();

    // A read under way when the role changes has seen the old row: it answers its own callers
    // but is not remembered, and callers after the change do not join it.
    const stale = cache.read(fork, 'u1');
    table.set('u1', Role.CONSUMER);
    cache.forget('u1');
    await fake.release();
    expect(await stale).toBe(Role.ADMIN);
    expect(cache.peek('u1')).toBeUndefined();

    const again = cache.read(fork, 'u1');
    cache.forget('u1');
    const fresh = cache.read(fork, 'u1');
    await fake.release();
    expect(await again).toBe(Role.CONSUMER);
    expect(await fresh).toBe(Role.CONSUMER);
    expect(fake.calls).toEqual(['u1', 'u1', 'u1', 'u1']);
  });

  it('with a TTL of 0, reads every time', async () => {
    const fake = fakeLookup(new Map([['u1', Role.CONSUMER]]));
    const cache = new UserStatusCache({ ttlSeconds: 0 }, fake.lookup);
    const read = cache.read(fork, 'u1');
    await fake.release();
    expect(await read).toBe(Role.CONSUMER);
    expect(cache.peek('u1')).toBeUndefined();
  });

  it('does not keep a failed read', async () => {
    let fail = true;
    const cache = new UserStatusCache({ ttlSeconds: 30 }, async () => {
      if (fail) throw new Error('connect ECONNREFUSED');
      return Role.CONSUMER;
    });
    await expect(cache.read(fork, 'u1')).rejects.toThrow(/ECONNREFUSED/);
    expect(cache.peek('u1')).toBeUndefined();
    fail = false;
    await expect(cache.read(fork, 'u1')).resolves.toBe(Role.CONSUMER);
  });
});
