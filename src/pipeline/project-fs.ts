/**
 * @module pipeline/project-fs
 * Reading a project's text files from the workspace or as they were at a git revision, so
 * dvc.yaml, params and metrics load the same way for both (`params diff HEAD`, `metrics diff`,
 * `gc --rev`). Paths are root-relative with `/`.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { KeelError } from '../core/index.js';

/** Read access to a project's files. */
export interface ProjectFs {
  /** Absolute path of the project root. */
  readonly root: string;
  /** 'workspace', or the git revision read. */
  readonly rev: string;
  /** The file's text, or undefined when it does not exist there (or is a folder). */
  read(path: string): string | undefined;
}

/** The files on disk. */
export function workspaceFs(root: string): ProjectFs {
  return {
    root,
    rev: 'workspace',
    read(path) {
      try {
        const abs = join(root, path);
        if (!statSync(abs).isFile()) return undefined;
        return readFileSync(abs, 'utf8');
      } catch {
        return undefined;
      }
    },
  };
}

/** The git work tree holding `cwd`, or undefined outside one. */
export function gitTopLevel(cwd: string): string | undefined {
  try {
    return execFileSync('git', ['rev-parse', '--show-toplevel'], { cwd, stdio: 'pipe' }).toString().trim();
  } catch {
    return undefined;
  }
}

/**
 * The files of the commit `rev`, read with `git cat-file`.
 * @throws KeelError RESOURCE_DOES_NOT_EXIST when `rev` names no commit (or there is no repository).
 */
export function revisionFs(root: string, rev: string): ProjectFs {
  let commit: string;
  try {
    commit = execFileSync('git', ['rev-parse', '--verify', '--quiet', `${rev}^{commit}`], {
      cwd: root,
      stdio: 'pipe',
    })
      .toString()
      .trim();
  } catch (err) {
    throw new KeelError('RESOURCE_DOES_NOT_EXIST', `Git revision '${rev}' does not exist in ${root}`, {
      cause: err,
    });
  }
  const cache = new Map<string, string | undefined>();
  return {
    root,
    rev,
    read(path) {
      if (!cache.has(path)) {
        let text: string | undefined;
        try {
          text = execFileSync('git', ['cat-file', 'blob', `${commit}:./${path}`], {
            cwd: root,
            stdio: 'pipe',
            maxBuffer: 256 << 20,
          }).toString();
        } catch {
          text = undefined;
        }
        cache.set(path, text);
      }
      return cache.get(path);
    },
  };
}
