/**
 * @module cli/io
 * What every command shares: `--json` output, progress on a TTY, the loaded config, and the one
 * place where a KeelError becomes a message and an exit code.
 */
import type { Command } from 'commander';
import {
  ERROR_CODES,
  type ErrorCode,
  type KeelConfig,
  KeelError,
  loadConfig,
  type ProgressFn,
  toKeelError,
} from '../core/index.js';
import { createProgressRenderer } from './progress.js';

export interface CommandIO {
  /** True when `--json` was given: print one JSON document on stdout and nothing else. */
  readonly json: boolean;
  /** The configuration, loaded on first use. */
  readonly config: KeelConfig;
  /** Prints the command's result: JSON with `--json`, otherwise the human text. */
  emit<T>(result: T, human?: (result: T) => string): void;
  /** A progress callback: a bar on a TTY, nothing with `--json` or when piped. */
  progress: ProgressFn;
  /** Prints a line of human output while the command runs (below any bar); nothing with `--json`. */
  note(text: string): void;
  /**
   * Ends the command with `code`'s exit code after its result was printed with `emit`: the result
   * stays the output (also with `--json`), and `message` goes to stderr in human mode.
   */
  exitWith(code: ErrorCode, message: string): void;
}

export function createIO(json: boolean): CommandIO & { done(): void } {
  let config: KeelConfig | undefined;
  const renderer = !json && process.stderr.isTTY ? createProgressRenderer(process.stderr) : undefined;
  return {
    json,
    get config() {
      config ??= loadConfig();
      return config;
    },
    emit(result, human) {
      renderer?.stop();
      if (json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
      else if (human) {
        const text = human(result);
        if (text) process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
      } else process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    },
    progress: renderer ? renderer.update : () => {},
    note(text) {
      if (json) return;
      renderer?.stop();
      process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
    },
    exitWith(code, message) {
      if (!json) process.stderr.write(`keel: ${message}\n`);
      process.exitCode = ERROR_CODES[code].exit;
    },
    done: () => renderer?.stop(),
  };
}

/** Reports an error as the command's outcome and sets the exit code from the error's code. */
export function reportError(err: unknown, json: boolean): number {
  const e = toKeelError(err);
  if (json) {
    process.stdout.write(
      `${JSON.stringify({ error_code: e.code, message: e.message, ...(e.details ? { details: e.details } : {}) }, null, 2)}\n`,
    );
  } else {
    process.stderr.write(`keel: ${e.message}\n`);
    const report = e.details?.report;
    if (typeof report === 'string') process.stderr.write(`${report}\n`);
    if (e.code === 'INTERNAL_ERROR' && e.cause instanceof Error && e.cause.stack) {
      process.stderr.write(`${e.cause.stack}\n`);
    }
  }
  return e.exitCode;
}

/**
 * Adds `--json` to a command and runs `handler` with the command's IO. The handler's errors become
 * an exit code; it never calls process.exit itself.
 */
export function action<A extends unknown[]>(
  cmd: Command,
  handler: (io: CommandIO, ...args: A) => Promise<void> | void,
): Command {
  return cmd.option('--json', 'print machine-readable JSON on stdout').action(async (...raw: unknown[]) => {
    const command = raw[raw.length - 1] as Command;
    const json = Boolean(command.opts().json);
    const io = createIO(json);
    try {
      await handler(io, ...(raw.slice(0, -1) as A));
    } catch (err) {
      io.done();
      const { explainError } = await import('./explain.js');
      process.exitCode = reportError(await explainError(err, () => io.config), json);
    } finally {
      io.done();
    }
  });
}

/** Parses a command-line number, naming the option when it is not one. */
export function parseNumberOption(name: string, integer = false): (value: string) => number {
  return (value: string) => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || (integer && !Number.isInteger(n))) {
      throw new KeelError(
        'INVALID_PARAMETER_VALUE',
        `${name} must be ${integer ? 'an integer' : 'a number'}, got '${value}'`,
      );
    }
    return n;
  };
}

/** Collects a repeatable option's values (`--model a --model b`). */
export const repeatOption = (value: string, previous: string[] = []): string[] => [...previous, value];

/** The CSV dialect flags a command that reads files takes (what is left out is sniffed). */
export interface CsvFlags {
  delimiter?: string;
  quote?: string;
  header?: boolean;
}

/** Adds `--delimiter`, `--quote` and `--no-header` to a command that reads CSV. */
export const csvFlags = (cmd: Command): Command =>
  cmd
    .option('--delimiter <char>', "CSV field separator, e.g. ';' or '\\t' (default: sniffed from the header)")
    .option('--quote <char>', `CSV quote character, '' for none (default ")`)
    .option('--no-header', 'the CSV has no header line (columns are column0, column1, ...)');

/** The dialect the flags give, undefined where a flag was not given. */
export function csvOptionsFrom(flags: CsvFlags): { delimiter?: string; quote?: string; header?: boolean } {
  const delimiter = flags.delimiter === '\\t' || flags.delimiter === 'tab' ? '\t' : flags.delimiter;
  return {
    ...(delimiter !== undefined ? { delimiter } : {}),
    ...(flags.quote !== undefined ? { quote: flags.quote } : {}),
    ...(flags.header === false ? { header: false } : {}),
  };
}
