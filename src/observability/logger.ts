import { pino, type Logger, type LoggerOptions } from 'pino';
import { createRequire } from 'node:module';

export type { Logger };

export interface LoggerSettings {
  level: string;
  format: 'json' | 'pretty';
}

/**
 * Header values that must never be written to a log line, wherever they
 * appear in a logged object.
 */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers["proxy-authorization"]',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers.cookie',
  'token',
  'idToken',
  'refreshToken',
  'accessToken',
];

export function createLogger(settings: LoggerSettings, destination?: NodeJS.WritableStream): Logger {
  const options: LoggerOptions = {
    level: settings.level,
    base: { service: 'kube-bastion' },
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  };
  if (settings.format === 'pretty') {
    // In-process stream rather than a worker transport: simple, and fine for a terminal.
    // Loaded only for `format: pretty` (a terminal), never in production JSON logging.
    const pretty = createRequire(import.meta.url)('pino-pretty') as typeof import('pino-pretty');
    return pino(
      options,
      pretty({ colorize: Boolean(process.stdout.isTTY), destination: destination ?? 1, sync: true }),
    );
  }
  return destination ? pino(options, destination) : pino(options);
}

/** A logger that discards everything (tests, benchmarks). */
export const silentLogger = (): Logger => pino({ level: 'silent' });
