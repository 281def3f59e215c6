import { type Logger, pino } from 'pino';
import type { Options } from '../config/option-specs.js';

/**
 * pino, JSON lines by default (what log shippers and our tests read); pretty-printed when
 * attached to a terminal or in development, through pino-pretty in pino's transport thread
 * so formatting never costs the event loop.
 */
export function createLogger(options: Pick<Options, 'logLevel' | 'logPretty'>): Logger {
  const pretty =
    options.logPretty === 'true' ||
    (options.logPretty === 'auto' &&
      (process.stdout.isTTY === true || process.env.NODE_ENV === 'development'));
  return pino({
    level: options.logLevel,
    base: { pid: process.pid },
    // Tokens must never reach a log line, whatever object someone logs.
    redact: {
      paths: ['*.authorization', '*.token', '*.ingestToken', '*.adminToken', '*.readToken'],
      censor: '[redacted]',
    },
    ...(pretty
      ? {
          transport: {
            target: 'pino-pretty',
            options: { translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid' },
          },
        }
      : {}),
  });
}

export type { Logger };
