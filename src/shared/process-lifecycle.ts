import { ConfigError, loadConfig, type Config } from '../config.js';
import { StartupError } from './errors.js';
import type { Logger } from './logger.js';

/** How long shutdown may take beyond SHUTDOWN_GRACE_MS (jobs, pools and connections closing). */
export const SHUTDOWN_MARGIN_MS = 5_000;

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

/** Names the shutdown stage now running, so that a deadline report says where it stuck. */
export type ShutdownStep = (name: string) => void;

export type ShutdownOptions = {
  /** Past this, the process logs what was still open and exits 1 (grace period + margin). */
  deadlineMs: number;
  exit?: (code: number) => void;
  /** The handles keeping the process alive (process.getActiveResourcesInfo by default). */
  openResources?: () => string[];
};

/**
 * Runs `stop` once, on the first SIGTERM or SIGINT (a terminal's Ctrl-C arrives twice: directly
 * and through scripts/node22.mjs), logs the outcome and exits 0, or 1 on failure. A stop that
 * never finishes (a connection whose peer stopped answering, a run that never returns) must not
 * keep a replica alive forever: past `deadlineMs` the process logs the stage it was in and the
 * handles still open, and exits 1.
 */
export function stopOnSignals(
  logger: Logger,
  stop: (step: ShutdownStep) => Promise<void>,
  options: ShutdownOptions,
): void {
  const shutdown = shutdownOnce(logger, stop, options);
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

/** The shutdown itself, without the signal wiring (tested in process-lifecycle.spec.ts). */
export function shutdownOnce(logger: Logger, stop: (step: ShutdownStep) => Promise<void>, options: ShutdownOptions) {
  const exit = options.exit ?? ((code: number) => process.exit(code));
  const openResources = options.openResources ?? (() => process.getActiveResourcesInfo());
  let stopping = false;
  return async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    const started = Date.now();
    const done: string[] = [];
    let current = 'starting';
    const step: ShutdownStep = (name) => {
      done.push(current);
      current = name;
    };
    logger.info({ signal, deadlineMs: options.deadlineMs }, 'shutting down');
    const deadline = setTimeout(() => {
      logger.error(
        { step: current, done: done.slice(1), open: countBy(openResources()), elapsedMs: Date.now() - started },
        `shutdown deadline passed while stopping ${current}: exiting`,
      );
      exit(1);
    }, options.deadlineMs);
    try {
      await stop(step);
      clearTimeout(deadline);
      logger.info({ elapsedMs: Date.now() - started }, 'stopped');
      exit(0);
    } catch (err) {
      clearTimeout(deadline);
      logger.error({ err, step: current }, 'error during shutdown');
      exit(1);
    }
  };
}

function countBy(items: string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const item of items) counts[item] = (counts[item] ?? 0) + 1;
  return counts;
}

/** The entry point's `main().catch(exitOnFatal)`. */
export function exitOnFatal(err: unknown): never {
  if (err instanceof StartupError) {
    process.stderr.write(`${err.message}\n`);
    process.exit(1);
  }
  process.stderr.write(`fatal: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
}
