/**
 * @module pipeline/executor
 * Runs a stage's `cmd` through the shell in its wdir: a list runs in order and stops at the first
 * failure. Output is passed on as it comes and the tail is kept for the error report.
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

function runOne(cmd: string, cwd: string, env: NodeJS.ProcessEnv, onOutput?: (chunk: string) => void) {
  return new Promise<{ code: number; output: string }>((resolve) => {
    let output = '';
    const child = spawn(cmd, { cwd, env, shell: true, stdio: ['ignore', 'pipe', 'pipe'] });
    const take = (chunk: Buffer) => {
      const text = chunk.toString();
      onOutput?.(text);
      output = (output + text).slice(-KEPT_OUTPUT);
    };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    child.on('error', (err) => resolve({ code: 127, output: `${output}${err.message}\n` }));
    child.on('close', (code, signal) =>
      resolve({ code: code ?? 128 + (signal ? constants.signals[signal] : 0), output }),
    );
  });
}

/** Runs each command in turn in `cwd`; stops at the first non-zero exit. */
export async function runCommands(
  cmd: string | string[],
  cwd: string,
  env: NodeJS.ProcessEnv,
  onOutput?: (chunk: string) => void,
): Promise<CommandResult> {
  let output = '';
  for (const one of Array.isArray(cmd) ? cmd : [cmd]) {
    const r = await runOne(one, cwd, env, onOutput);
    output = (output + r.output).slice(-KEPT_OUTPUT);
    if (r.code !== 0) return { code: r.code, output, failed: one };
  }
  return { code: 0, output };
}
