/**
 * @module pipeline/executor
 * Runs a stage's `cmd` as DVC does: each line of a multi-line string (or each item of a list) in
 * turn with `$SHELL -c` (bash without profile or rc files, zsh without rcs; `/bin/sh` when SHELL is
 * unset) in the stage's wdir, stopping at the first failure. Output is passed on as it comes and the
 * tail is kept for the error report. Each command runs in its own process group, so an abort
 * stops the command and everything it started, and a watchdog in that group kills it when Keel
 * itself dies (even by SIGKILL): it waits on a pipe only Keel holds open.
 */
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { basename } from 'node:path';
import type { Writable } from 'node:stream';

const KEPT_OUTPUT = 64 * 1024;
// biome-ignore lint/suspicious/noControlCharactersInRegex: Python's str.splitlines() also splits on the file, group and record separators.
const LINE_BREAKS = /\r\n|[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]/;
/** Kills its own process group when fd 3 closes without a line (Keel is gone), then runs "$@". */
const WATCHDOG =
  '(if read _ <&3; then :; else kill -KILL 0; fi) </dev/null >/dev/null 2>&1 & exec 3<&-; exec "$@"';

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
  /** Receives each chunk of the command's stdout or stderr as it is written. */
  onOutput?: (chunk: string, stream: 'stdout' | 'stderr') => void;
  /** Called with each command just before it runs. */
  onCommand?: (cmd: string) => void;
  /** Aborting sends SIGTERM to the running command's process group. */
  signal?: AbortSignal;
}

/** A stage's commands, as DVC splits them: a list as is, a string by lines. */
export function commandLines(cmd: string | string[]): string[] {
  if (Array.isArray(cmd)) return cmd;
  const lines = cmd.split(LINE_BREAKS);
  if (lines.length > 1 && lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/** The shell and its flags DVC uses: `$SHELL`, with rc files off for bash and zsh. */
export function shellCommand(env: NodeJS.ProcessEnv, cmd: string): string[] {
  const shell = env.SHELL || '/bin/sh';
  const flags: Record<string, string[]> = { bash: ['--noprofile', '--norc'], zsh: ['--no-rcs'] };
  return [shell, ...(flags[basename(shell).toLowerCase()] ?? []), '-c', cmd];
}

function runOne(cmd: string, o: RunOptions) {
  return new Promise<{ code: number; output: string }>((resolve) => {
    let output = '';
    const child = spawn('/bin/sh', ['-c', WATCHDOG, 'keel-stage', ...shellCommand(o.env, cmd)], {
      cwd: o.cwd,
      env: o.env,
      detached: true,
      stdio: ['inherit', 'pipe', 'pipe', 'pipe'],
    });
    const watchdog = child.stdio[3] as Writable;
    watchdog.on('error', () => {});
    const stop = () => {
      try {
        process.kill(-child.pid!, 'SIGTERM');
      } catch {
        // The group is already gone.
      }
    };
    o.signal?.addEventListener('abort', stop, { once: true });
    const take = (stream: 'stdout' | 'stderr') => (chunk: Buffer) => {
      const text = chunk.toString();
      o.onOutput?.(text, stream);
      output = (output + text).slice(-KEPT_OUTPUT);
    };
    child.stdout!.on('data', take('stdout'));
    child.stderr!.on('data', take('stderr'));
    let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    let open = 2;
    const finish = () => {
      if (!exit || open > 0) return;
      o.signal?.removeEventListener('abort', stop);
      resolve({ code: exit.code ?? 128 + (exit.signal ? constants.signals[exit.signal] : 0), output });
    };
    // stdio[3] stays open until the watchdog is told: wait for the command and its output only.
    child.stdout!.on('close', () => {
      open--;
      finish();
    });
    child.stderr!.on('close', () => {
      open--;
      finish();
    });
    child.on('error', (err) => resolve({ code: 127, output: `${output}${err.message}\n` }));
    child.on('exit', (code, signal) => {
      // Tells the watchdog the command ended normally, so it leaves the group alone.
      watchdog.end('done\n');
      exit = { code, signal };
      finish();
    });
  });
}

/** Runs each command in turn; stops at the first non-zero exit or when aborted (code 130). */
export async function runCommands(cmd: string | string[], o: RunOptions): Promise<CommandResult> {
  let output = '';
  for (const one of commandLines(cmd)) {
    if (o.signal?.aborted) return { code: 130, output: `${output}interrupted\n`, failed: one };
    o.onCommand?.(one);
    const r = await runOne(one, o);
    output = (output + r.output).slice(-KEPT_OUTPUT);
    if (r.code !== 0) return { code: r.code, output, failed: one };
  }
  return { code: 0, output };
}
