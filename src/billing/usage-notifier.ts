import type { EventBus } from '../subscriptions/event-bus.js';

/**
 * Tells `usageUpdated` subscribers that a consumer's usage changed, at most once per `windowMs`
 * per consumer and process: a burst of a thousand predictions is four events a second, not a
 * thousand (each subscriber recomputes its summary on an event). Trailing: the last change in a
 * window is always announced. Call it after the commit that metered the prediction.
 */
export class UsageNotifier {
  private readonly pending = new Map<string, NodeJS.Timeout>();

  constructor(
    private readonly bus: Pick<EventBus, 'publish'>,
    private readonly windowMs = 250,
    private readonly onError: (err: unknown) => void = () => undefined,
  ) {}

  notify(userId: string): void {
    if (this.pending.has(userId)) return;
    const timer = setTimeout(() => {
      this.pending.delete(userId);
      this.bus.publish('USAGE_UPDATED', userId, { userId, at: new Date().toISOString() }).catch(this.onError);
    }, this.windowMs);
    timer.unref();
    this.pending.set(userId, timer);
  }

  /** Sends what is pending now (shutdown), so the last change is not lost. */
  async flush(): Promise<void> {
    const users = [...this.pending.keys()];
    for (const t of this.pending.values()) clearTimeout(t);
    this.pending.clear();
    await Promise.allSettled(
      users.map((userId) => this.bus.publish('USAGE_UPDATED', userId, { userId, at: new Date().toISOString() })),
    );
  }
}
