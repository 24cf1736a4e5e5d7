/**
 * @module core/logger
 * pino, writing structured JSON to stderr so stdout stays free for command output and `--json`.
 */
import { type Logger, pino } from 'pino';
import type { LogLevel } from './config.js';

export type { Logger };

export interface LoggerOptions {
  name?: string;
  /**
   * Write each line before returning (default true). A server passes false: lines are buffered
   * and written in the background, so a request never waits on stderr; pino writes what is left
   * when the process exits, and `logger.flush()` writes it sooner.
   */
  sync?: boolean;
}

export function createLogger(level: LogLevel = 'warn', options: LoggerOptions = {}): Logger {
  const { name = 'keel', sync = true } = options;
  return pino({ name, level }, pino.destination({ dest: 2, sync }));
}

/** A logger that drops everything: for tests and library use without a configured logger. */
export const silentLogger: Logger = pino({ level: 'silent' });
