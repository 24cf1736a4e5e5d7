/**
 * @module pipeline/executor
 * Runs a stage's `cmd` through the shell in its wdir: a list runs in order and stops at the first
 * failure. Output is passed on as it comes and the tail is kept for the error report. Each command
 * runs in its own process group, so an abort stops the command and everything it started.
 */
import { spawn } from 'node:child_process';
import { constants } from 'node:os';

const KEPT_OUTPUT = 64 * 1024;

export interface CommandResult {
  /** Exit code of the failing command (or 0); a signal counts as 128 + its number, as shells do. */
  code: number;
  /** The last 64 KiB of stdout and stderr, interleaved. */
  output: string;
  /** The command that failed, when one did. */
  failed?: string;
}

/** Where and how commands run. */
export interface RunOptions {
  cwd: string;
  env: NodeJS.ProcessEnv;
  onOutput?: (chunk: string) => void;
  /** Aborting sends SIGTERM to the running command's process group. */
  signal?: AbortSignal;
}

function runOne(cmd: string, o: RunOptions) {
  return new Promise<{ code: number; output: string }>((resolve) => {
    let output = '';
    const child = spawn(cmd, {
      cwd: o.cwd,
      env: o.env,
      shell: true,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const stop = () => {
      try {
        process.kill(-child.pid!, 'SIGTERM');
      } catch {
        // The group is already gone.
      }
    };
    o.signal?.addEventListener('abort', stop, { once: true });
    const take = (chunk: Buffer) => {
      const text = chunk.toString();
      o.onOutput?.(text);
      output = (output + text).slice(-KEPT_OUTPUT);
    };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    child.on('error', (err) => resolve({ code: 127, output: `${output}${err.message}\n` }));
    child.on('close', (code, signal) => {
      o.signal?.removeEventListener('abort', stop);
      resolve({ code: code ?? 128 + (signal ? constants.signals[signal] : 0), output });
    });
  });
}

/** Runs each command in turn; stops at the first non-zero exit or when aborted (code 130). */
export async function runCommands(cmd: string | string[], o: RunOptions): Promise<CommandResult> {
  let output = '';
  for (const one of Array.isArray(cmd) ? cmd : [cmd]) {
    if (o.signal?.aborted) return { code: 130, output: `${output}interrupted\n`, failed: one };
    const r = await runOne(one, o);
    output = (output + r.output).slice(-KEPT_OUTPUT);
    if (r.code !== 0) return { code: r.code, output, failed: one };
  }
  return { code: 0, output };
}
