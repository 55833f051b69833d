import type { Redis } from 'ioredis';

/**
 * A version number for "the public catalog as anonymous readers see it". Every catalog write
 * (models, versions, reviews) bumps it after its commit; caches of catalog reads (the GraphQL
 * response cache, the predict path's version cache) remember the generation they were filled
 * under and treat an entry from another generation as gone. Bumping after the commit matters:
 * a reader that started before the commit read the old rows, and its entry carries the old
 * generation, so it can never be served after the bump.
 *
 * With Redis, writes also INCR a shared key, and each process polls that key every
 * `pollMs` (never per request), so another replica's write invalidates this one's caches within
 * about that bound. While Redis cannot be read, `usable()` turns false and caches stop serving
 * rather than serve something that may be stale for longer than promised.
 */
export class CatalogGeneration {
  private local = 0;
  private remote: string | null = null;
  private lastPoll = 0;
  private timer?: NodeJS.Timeout;
  private redis?: Redis;
  private listeners: (() => void)[] = [];

  private onError: (err: unknown) => void = () => undefined;
  private failing = false;

  constructor(private readonly options: { key?: string; pollMs?: number } = {}) {}

  /** The current generation, as an opaque string: equal strings mean nothing changed between. */
  current(): string {
    return this.remote === null ? String(this.local) : `${this.local}:${this.remote}`;
  }

  /**
   * False while a shared generation is configured but has not been read recently (Redis down or
   * slow): callers should neither serve nor fill caches then.
   */
  usable(): boolean {
    if (!this.redis) return true;
    return this.remote !== null && Date.now() - this.lastPoll < 10 * this.pollMs;
  }

  /** Call after a catalog write has committed. */
  bump(): void {
    this.local++;
    for (const listener of this.listeners) listener();
    if (this.redis) this.redis.incr(this.key).catch((err: unknown) => this.onError(err));
  }

  /** Called on every bump (local ones; remote ones arrive through `current()` changing). */
  onBump(listener: () => void): void {
    this.listeners.push(listener);
  }

  /**
   * Shares the generation through Redis: INCR on bump, GET every `pollMs`. `onError` hears the
   * first failure of a run of failed polls (not one line every 100 ms while Redis is down).
   */
  connect(redis: Redis, onError?: (err: unknown) => void): void {
    this.redis = redis;
    if (onError) this.onError = onError;
    const poll = () => {
      redis
        .get(this.key)
        .then((value) => {
          this.remote = value ?? '0';
          this.lastPoll = Date.now();
          this.failing = false;
        })
        .catch((err: unknown) => {
          if (!this.failing) this.onError(err);
          this.failing = true;
        });
    };
    poll();
    this.timer = setInterval(poll, this.pollMs);
    // The poll must never keep a process (or a test) alive on its own.
    this.timer.unref();
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private get key(): string {
    return this.options.key ?? 'mm:catalog:generation';
  }

  private get pollMs(): number {
    return this.options.pollMs ?? 100;
  }
}
