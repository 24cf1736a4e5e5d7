import { describe, expect, it } from 'vitest';
import { runCommands } from '../../src/pipeline/executor.js';
import { makeProject } from './helpers.js';

describe('runCommands', () => {
  it('runs a list in order in cwd through the shell and stops at the first failure', async () => {
    const root = makeProject({ 'f.txt': 'content\n' });
    const chunks: string[] = [];
    const r = await runCommands(['cat f.txt', 'echo err >&2; exit 5', 'echo never'], root, process.env, (c) =>
      chunks.push(c),
    );
    expect(r).toEqual({ code: 5, output: 'content\nerr\n', failed: 'echo err >&2; exit 5' });
    expect(chunks.join('')).toBe('content\nerr\n');
  });

  it('reports a signal as 128 + its number', async () => {
    const r = await runCommands('kill -TERM $$', makeProject({}), process.env);
    expect(r.code).toBe(143);
  });
});
