/**
 * @module pipeline/git
 * Reading files as they were at a git revision (`git show REV:./path`), for params and metrics diffs.
 */
import { execFileSync } from 'node:child_process';
import { KeelError } from '../core/index.js';

/**
 * Checks that `rev` names a commit in the repository holding `cwd`.
 * @throws KeelError RESOURCE_DOES_NOT_EXIST when it does not (or there is no repository).
 */
export function verifyRevision(cwd: string, rev: string): void {
  try {
    execFileSync('git', ['rev-parse', '--verify', '--quiet', `${rev}^{commit}`], { cwd, stdio: 'pipe' });
  } catch (err) {
    throw new KeelError('RESOURCE_DOES_NOT_EXIST', `Git revision '${rev}' does not exist in ${cwd}`, {
      cause: err,
    });
  }
}

/** A file's text at `rev` (path relative to `cwd`), or undefined when it did not exist there. */
export function showAtRevision(cwd: string, rev: string, path: string): string | undefined {
  try {
    return execFileSync('git', ['show', `${rev}:./${path}`], {
      cwd,
      stdio: 'pipe',
      maxBuffer: 64 << 20,
    }).toString();
  } catch {
    return undefined;
  }
}
