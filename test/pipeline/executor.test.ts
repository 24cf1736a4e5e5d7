import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCommands } from '../../src/pipeline/executor.js';
import { makeProject } from './helpers.js';

const waitFor = async (path: string) => {
  for (let i = 0; i < 400 && !existsSync(path); i++) await new Promise((r) => setTimeout(r, 25));
};

describe('runCommands', () => {
  it('runs a list in order in cwd through the shell and stops at the first failure', async () => {
    const root = makeProject({ 'f.txt': 'content\n' });
    const chunks: string[] = [];
    const r = await runCommands(['cat f.txt', 'echo err >&2; exit 5', 'echo never'], {
      cwd: root,
      env: process.env,
      onOutput: (c) => chunks.push(c),
    });
    expect(r).toEqual({ code: 5, output: 'content\nerr\n', failed: 'echo err >&2; exit 5' });
    expect(chunks.join('')).toBe('content\nerr\n');
  });

  it('reports a signal as 128 + its number', async () => {
    const r = await runCommands('kill -TERM $$', { cwd: makeProject({}), env: process.env });
    expect(r.code).toBe(143);
  });

  it('an abort stops the command and what it started, and runs nothing after it', async () => {
    const root = makeProject({});
    const controller = new AbortController();
    const started = runCommands(['touch started; (sleep 0.5; touch late) & wait', 'touch after'], {
      cwd: root,
      env: process.env,
      onOutput: () => {},
      signal: controller.signal,
    });
    await waitFor(join(root, 'started'));
    controller.abort();
    const r = await started;
    expect(r.code).toBe(143);
    expect(existsSync(join(root, 'after'))).toBe(false);
    // The background job was in the group too: it never gets to write.
    await new Promise((r) => setTimeout(r, 1000));
    expect(existsSync(join(root, 'late'))).toBe(false);
  });
});
