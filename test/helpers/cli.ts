/**
 * Runs the built `keel` CLI (dist/, built by `npm test` before the suites) as a child process,
 * never blocking the test worker: every call is an async spawn with a timeout sized for a loaded
 * 2-core machine, and a process that outlives it is killed and fails the test with its output.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';

export const CLI = join(import.meta.dirname, '..', '..', 'dist', 'cli', 'main.js');

export interface CliOptions {
  cwd: string;
  env?: Record<string, string>;
  /** Default 300 s: several child processes load DuckDB and ONNX Runtime at once in a busy CI. */
  timeoutMs?: number;
  /** Written to the child's stdin, which is then closed. */
  input?: string;
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

const DEFAULT_TIMEOUT_MS = 300_000;

/** The environment every child gets: the embedded stores, never a tracking server of the shell. */
const childEnv = (env: Record<string, string> = {}): NodeJS.ProcessEnv => ({
  ...process.env,
  KEEL_TRACKING_URI: '',
  MLFLOW_TRACKING_URI: '',
  KEEL_TOKEN: '',
  ...env,
});

const tail = (text: string) => (text.length > 4000 ? `...${text.slice(-4000)}` : text);

function describeRun(what: string, out: CliResult): string {
  return `${what}\n--- stdout ---\n${tail(out.stdout)}\n--- stderr ---\n${tail(out.stderr)}`;
}

/** Runs `keel ...args` to its end. Rejects (failing the test loudly) when it outlives its timeout. */
export function keel(args: string[], options: CliOptions): Promise<CliResult> {
  return runProcess(process.execPath, [CLI, ...args], options, `keel ${args.join(' ')}`);
}

/** Runs any command the same way (a shell line of the README, a stage's tool). */
export function runProcess(
  file: string,
  args: string[],
  options: CliOptions,
  label = [file, ...args].join(' '),
): Promise<CliResult> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      cwd: options.cwd,
      env: childEnv(options.env),
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: true,
    });
    const out: CliResult = { code: null, stdout: '', stderr: '' };
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out.stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      out.stderr += d;
    });
    const timer = setTimeout(() => {
      killGroup(child);
      reject(new Error(describeRun(`${label} did not finish within ${timeoutMs / 1000} s`, out)));
    }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      out.code = code ?? (signal ? 128 : null);
      resolve(out);
    });
    // A child that exits without reading its input (shellcheck, a failed start) closes the pipe
    // first: the write's EPIPE is no failure of the run, whose exit code tells.
    child.stdin.on('error', () => {});
    child.stdin.end(options.input ?? '');
  });
}

/** Runs `keel ...args --json`, expects exit 0 and returns the parsed document. */
export async function keelJson<T = Record<string, unknown>>(args: string[], options: CliOptions): Promise<T> {
  const res = await keel([...args, '--json'], options);
  if (res.code !== 0) throw new Error(describeRun(`keel ${args.join(' ')} exited ${res.code}`, res));
  try {
    return JSON.parse(res.stdout) as T;
  } catch {
    throw new Error(describeRun(`keel ${args.join(' ')} printed no JSON document`, res));
  }
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals = 'SIGKILL'): void {
  try {
    process.kill(-child.pid!, signal);
  } catch {
    // Already gone.
  }
}

/** A long-running `keel` (serve) started in the background. */
export interface BackgroundKeel {
  readonly child: ChildProcess;
  output(): CliResult;
  /** Resolves with the first match of `pattern` on stdout; rejects with the output on timeout or exit. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
  /** SIGTERM, then the exit code (SIGKILL and a rejection if it does not stop in time). */
  stop(timeoutMs?: number): Promise<number | null>;
}

export function startKeel(args: string[], options: CliOptions): BackgroundKeel {
  return startProcess(process.execPath, [CLI, ...args], options, `keel ${args.join(' ')}`);
}

/** Any long-running command started the same way (a README's `keel serve` line through bash). */
export function startProcess(
  file: string,
  args: string[],
  options: CliOptions,
  label: string,
): BackgroundKeel {
  const child = spawn(file, args, {
    cwd: options.cwd,
    env: childEnv(options.env),
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const out: CliResult = { code: null, stdout: '', stderr: '' };
  const listeners = new Set<() => void>();
  const changed = () => {
    for (const l of listeners) l();
  };
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    out.stdout += d;
    changed();
  });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    out.stderr += d;
  });
  const exited = new Promise<number | null>((resolve) =>
    child.on('close', (code) => {
      out.code = code;
      changed();
      resolve(code);
    }),
  );
  return {
    child,
    output: () => ({ ...out }),
    waitFor(pattern, timeoutMs = options.timeoutMs ?? 120_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const m = pattern.exec(out.stdout);
          if (m) done(() => resolve(m));
          else if (out.code !== null)
            done(() => reject(new Error(describeRun(`${label} exited ${out.code} before ${pattern}`, out))));
        };
        const timer = setTimeout(
          () =>
            done(() =>
              reject(
                new Error(describeRun(`${label} printed no ${pattern} within ${timeoutMs / 1000} s`, out)),
              ),
            ),
          timeoutMs,
        );
        const done = (fn: () => void) => {
          clearTimeout(timer);
          listeners.delete(check);
          fn();
        };
        listeners.add(check);
        check();
      });
    },
    async stop(timeoutMs = 60_000) {
      if (out.code !== null) return out.code;
      killGroup(child, 'SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          killGroup(child);
          reject(
            new Error(describeRun(`${label} did not stop within ${timeoutMs / 1000} s of SIGTERM`, out)),
          );
        }, timeoutMs);
      });
      try {
        return await Promise.race([exited, late]);
      } finally {
        clearTimeout(timer);
      }
    },
  };
}
