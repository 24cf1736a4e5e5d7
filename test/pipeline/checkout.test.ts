import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkout } from '../../src/pipeline/checkout.js';
import { repro } from '../../src/pipeline/repro.js';
import { makeProject, workspaces } from './helpers.js';

const ws = workspaces();

const dvcYaml =
  'stages:\n  split:\n    cmd: mkdir -p parts && cp in.txt parts/a.txt && echo b > parts/b.txt\n    deps: [in.txt]\n    outs: [parts]\n    metrics:\n      - m.json:\n          cache: false\n';

describe('checkout', () => {
  it('restores cached outputs (folders too) as dvc.lock records them, leaving uncached ones alone', async () => {
    const root = makeProject({
      'in.txt': 'a\n',
      'dvc.yaml': dvcYaml.replace('echo b > parts/b.txt', 'echo b > parts/b.txt && echo 1 > m.json'),
    });
    await repro(ws(root));
    rmSync(join(root, 'parts'), { recursive: true });
    writeFileSync(join(root, 'm.json'), '2\n');
    const result = await checkout(ws(root));
    expect(result).toEqual({ added: ['parts/'], modified: [], deleted: [], failed: [] });
    expect(readFileSync(join(root, 'parts/b.txt'), 'utf8')).toBe('b\n');
    expect(readFileSync(join(root, 'm.json'), 'utf8')).toBe('2\n');
    expect(await checkout(ws(root))).toEqual({ added: [], modified: [], deleted: [], failed: [] });
    // A file whose content is in the cache may be replaced without --force.
    writeFileSync(join(root, 'parts/b.txt'), 'a\n');
    expect((await checkout(ws(root))).modified).toEqual(['parts/']);
    expect(readFileSync(join(root, 'parts/b.txt'), 'utf8')).toBe('b\n');
  });
});
