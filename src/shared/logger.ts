import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * Structured JSON logs (one line per event). Paths that may carry secrets are redacted at the
 * logger, so no call site can leak a token by accident.
 */
export function createLogger(level: string, base: Record<string, unknown> = {}): Logger {
  return pino({
    level,
    base: { service: 'model-marketplace', ...base },
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
  });
}
