/**
 * Runs the built `keel` CLI (dist/, built by `npm test` before the suites) as a child process.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

export const CLI = join(import.meta.dirname, '..', '..', 'dist', 'cli', 'main.js');

export function keel(args: string[], options: { cwd: string; env?: Record<string, string> }) {
  const res = spawnSync(process.execPath, [CLI, ...args], {
    cwd: options.cwd,
    env: { ...process.env, KEEL_TRACKING_URI: '', MLFLOW_TRACKING_URI: '', ...options.env },
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { code: res.status, stdout: res.stdout, stderr: res.stderr };
}
