import { ConfigError, loadConfig, type Config } from '../config.js';
import type { Logger } from './logger.js';

/**
 * What every entry point (`npm start`, `npm run worker`) does around its own work: read the
 * config or exit naming the bad variable, stop in order on SIGTERM/SIGINT (once, however many
 * signals arrive), and never leave an unhandled start-up failure without a message.
 */
export function loadConfigOrExit(): Config {
  try {
    return loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
}

/** Runs `stop` on the first SIGTERM or SIGINT, logs the outcome, and exits 0 (or 1 on failure). */
export function stopOnSignals(logger: Logger, stop: () => Promise<void>): void {
  let stopping = false;
  const onSignal = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    try {
      await stop();
      logger.info('stopped');
      process.exit(0);
    } catch (err) {
      logger.error({ err }, 'error during shutdown');
      process.exit(1);
    }
  };
  process.on('SIGTERM', () => void onSignal('SIGTERM'));
  process.on('SIGINT', () => void onSignal('SIGINT'));
}

/** The entry point's `main().catch(exitOnFatal)`. */
export function exitOnFatal(err: unknown): never {
  process.stderr.write(`fatal: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
}
