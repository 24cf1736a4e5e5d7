/**
 * @module core/logger
 * pino, writing structured JSON to stderr so stdout stays free for command output and `--json`.
 */
import { type Logger, pino } from 'pino';
import type { LogLevel } from './config.js';

export type { Logger };

export function createLogger(level: LogLevel = 'warn', name = 'keel'): Logger {
  return pino({ name, level }, pino.destination(2));
}

/** A logger that drops everything: for tests and library use without a configured logger. */
export const silentLogger: Logger = pino({ level: 'silent' });
