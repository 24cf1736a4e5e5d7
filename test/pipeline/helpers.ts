/**
 * Test helpers for the pipeline suites: temp projects written from a map of files.
 */
import { spawn } from 'node:child_process';
import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterEach } from 'vitest';
import { Workspace } from '../../src/pipeline/workspace.js';
import { keel } from '../helpers/cli.js';
import { tempDir } from '../helpers/temp.js';

/** Creates a temp folder holding `files` (path -> text) and returns its path. */
export function makeProject(files: Record<string, string>): string {
  const root = tempDir();
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

const GENERATED = ['.keel', 'dvc.lock', 'metrics', 'model.json', join('data', 'prepared')];

/** A fresh copy of examples/pipeline (sources only) in a temp folder. */
export function copyExample(): string {
  const src = join(import.meta.dirname, '..', '..', 'examples', 'pipeline');
  const root = tempDir();
  cpSync(src, root, { recursive: true, filter: (p) => !GENERATED.some((g) => p === join(src, g)) });
  return root;
}

/** Opens workspaces for a suite and closes every one after each test. */
export function workspaces(): (root: string) => Workspace {
  const open: Workspace[] = [];
  afterEach(async () => {
    for (const w of open.splice(0)) await w.close();
  });
  return (root) => {
    const w = Workspace.open(root);
    open.push(w);
    return w;
  };
}

/** Runs a command without blocking the test worker; stdout and stderr are collected. */
export function runCommand(
  cmd: string,
  args: string[],
  options: { cwd: string; env?: Record<string, string> },
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd: options.cwd,
      env: { ...process.env, KEEL_TRACKING_URI: '', MLFLOW_TRACKING_URI: '', ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => {
      stdout += c;
    });
    child.stderr.on('data', (c) => {
      stderr += c;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Runs the built `keel` CLI in `cwd` without blocking the test worker. */
export const runKeel = (args: string[], cwd: string, env: Record<string, string> = {}) =>
  keel(args, { cwd, env });
