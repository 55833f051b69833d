import cluster from 'node:cluster';
import { pino, type Logger } from 'pino';
import { PinoPretty } from 'pino-pretty';

export type { Logger };

/** `json`: one JSON object per line (log collectors); `pretty`: coloured, one readable line per event. */
export type LogFormat = 'json' | 'pretty';

/**
 * LOG_FORMAT=auto: readable lines for a person at a terminal, JSON everywhere else (containers,
 * pipes, files, production) where a collector parses them.
 */
export function resolveLogFormat(
  setting: 'auto' | LogFormat,
  env: string,
  isTty = Boolean(process.stdout.isTTY),
): LogFormat {
  if (setting !== 'auto') return setting;
  return isTty && env !== 'production' ? 'pretty' : 'json';
}

/**
 * Structured logs (one line per event). Paths that may carry secrets are redacted at the logger,
 * so no call site can leak a token by accident. Pretty printing runs in this thread, synchronously
 * (pino-pretty as a stream, not a transport), so a crash never loses its last lines.
 */
export function createLogger(level: string, base: Record<string, unknown> = {}, format: LogFormat = 'json'): Logger {
  const options = {
    level,
    // One of several API processes behind one port (API_PROCESSES): each line says which.
    base: {
      service: 'model-marketplace',
      ...(cluster.isWorker ? { apiProcess: cluster.worker?.id, pid: process.pid } : {}),
      ...base,
    },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: {
      paths: [
        'req.headers.authorization',
        'req.headers["x-api-key"]',
        'req.headers.cookie',
        '*.password',
        '*.accessToken',
        '*.refreshToken',
        '*.secret',
        'variables.inputs',
      ],
      censor: '[redacted]',
    },
  };
  if (format === 'json') return pino(options);
  return pino(
    options,
    PinoPretty({ sync: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,service', singleLine: true }),
  );
}
