import { PerKeyCoalescer } from '../shared/per-key-coalescer.js';
import type { EventBus } from '../subscriptions/event-bus.js';

/**
 * Tells `usageUpdated` subscribers that a consumer's usage changed, at most once per `windowMs`
 * per consumer and process: a burst of a thousand predictions is four events a second, not a
 * thousand (each subscriber recomputes its summary on an event). Trailing: the last change in a
 * window is always announced. Call it after the commit that metered the prediction.
 */
export class UsageNotifier {
  private readonly coalescer: PerKeyCoalescer;

  constructor(bus: Pick<EventBus, 'publish'>, windowMs = 250, onError: (err: unknown) => void = () => undefined) {
    this.coalescer = new PerKeyCoalescer(
      windowMs,
      (userId) => bus.publish('USAGE_UPDATED', userId, { userId, at: new Date().toISOString() }),
      onError,
    );
  }

  notify(userId: string): void {
    this.coalescer.notify(userId);
  }

  /** Sends what is pending now (shutdown), so the last change is not lost. */
  flush(): Promise<void> {
    return this.coalescer.flush();
  }
}
