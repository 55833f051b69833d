import type { Logger } from './logger.js';

/**
 * Reports a connection's errors without flooding the log: while Redis is down, ioredis and BullMQ
 * emit an error on every reconnect attempt (several a second). The first error of an outage is
 * logged at once, then at most one line per `everyMs` with how many were suppressed; `recovered()`
 * (on 'ready') logs the end of the outage.
 */
export function throttledErrorLog(logger: Logger, what: string, everyMs = 30_000) {
  let failing = false;
  let lastLoggedAt = 0;
  let suppressed = 0;
  return {
    error(err: unknown): void {
      const now = Date.now();
      if (!failing || now - lastLoggedAt >= everyMs) {
        logger.warn({ err, suppressed }, failing ? `${what}: still failing` : `${what}: error`);
        failing = true;
        lastLoggedAt = now;
        suppressed = 0;
      } else {
        suppressed++;
      }
    },
    recovered(): void {
      if (!failing) return;
      logger.info({ suppressed }, `${what}: recovered`);
      failing = false;
      suppressed = 0;
    },
  };
}
