import type { App } from '../app.js';
import type { Config } from '../config.js';
import type { Tracing } from '../observability/tracing-sdk.js';
import { SHUTDOWN_MARGIN_MS, stopOnSignals } from '../shared/process-lifecycle.js';

/**
 * SIGTERM/SIGINT for an API or worker process: `first` (the HTTP server's drain, for the API),
 * then the app in order, then the tracing exporter's last spans. A run that never ends must not
 * hold the exit past the grace period: then the pool kills its workers, and whatever still waits
 * on them (a request, a job) fails SHUTTING_DOWN.
 */
export function stopGracefully(
  app: App,
  config: Pick<Config, 'shutdownGraceMs'>,
  tracing: Tracing,
  first?: (step: (name: string) => void) => Promise<void>,
): void {
  stopOnSignals(
    app.logger,
    async (step) => {
      const cut = setTimeout(() => void app.inference.close(), config.shutdownGraceMs);
      try {
        await first?.(step);
        await app.close(step);
        step('tracing');
        await tracing.shutdown();
      } finally {
        clearTimeout(cut);
      }
    },
    { deadlineMs: config.shutdownGraceMs + SHUTDOWN_MARGIN_MS },
  );
}
