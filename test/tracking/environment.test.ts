/**
 * The environment tags of a run: the git commit, branch and whether the checkout was dirty, as
 * MLflow 3 records them (untracked files do not count), on a real git repository.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ENV_TAGS, environmentTags } from '../../src/tracking/index.js';
import { tempDir } from '../helpers/temp.js';

const git = (cwd: string, ...args: string[]) =>
  execFileSync('git', ['-c', 'user.email=t@example.com', '-c', 'user.name=t', ...args], { cwd });

describe('environmentTags', () => {
  it('records the commit, the branch and whether tracked files changed since it', () => {
    const dir = tempDir();
    expect(environmentTags(dir)[ENV_TAGS.gitCommit]).toBeUndefined();
    git(dir, 'init', '-q', '-b', 'main');
    writeFileSync(join(dir, 'train.py'), 'print(1)\n');
    git(dir, 'add', '.');
    git(dir, 'commit', '-qm', 'first');
    const clean = environmentTags(dir);
    expect(clean[ENV_TAGS.gitCommit]).toMatch(/^[0-9a-f]{40}$/);
    expect(clean).toMatchObject({ [ENV_TAGS.gitBranch]: 'main', [ENV_TAGS.gitDirty]: 'false' });
    writeFileSync(join(dir, 'notes.txt'), 'untracked files do not make the tree dirty\n');
    expect(environmentTags(dir)[ENV_TAGS.gitDirty]).toBe('false');
    writeFileSync(join(dir, 'train.py'), 'print(2)\n');
    expect(environmentTags(dir)[ENV_TAGS.gitDirty]).toBe('true');
  });
});
