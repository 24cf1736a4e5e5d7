import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkout } from '../../src/pipeline/checkout.js';
import { gc } from '../../src/pipeline/gc.js';
import { repro } from '../../src/pipeline/repro.js';
import { makeProject, workspaces } from './helpers.js';

const ws = workspaces();

const dvcYaml =
  'stages:\n  split:\n    cmd: mkdir -p parts && cp in.txt parts/a.txt && echo b > parts/b.txt\n    deps: [in.txt]\n    outs: [parts]\n';

describe('gc', () => {
  it("keeps what the workspace's lock uses (and, when asked, the run cache), and needs a scope", async () => {
    const root = makeProject({
      'in.txt': 'a\n',
      'dvc.yaml': dvcYaml,
    });
    await repro(ws(root));
    writeFileSync(join(root, 'in.txt'), 'changed\n');
    await repro(ws(root));
    expect(() => gc(ws(root), {})).toThrow(/Either of `-w\|--workspace`/);
    expect(gc(ws(root), { workspace: true, keepRunCache: true }).removed).toBe(0);
    const dry = gc(ws(root), { workspace: true, dry: true });
    expect(dry.removed).toBe(2);
    const dropped = gc(ws(root), { workspace: true });
    // The first run's a.txt and its .dir manifest are used by nothing now; b.txt is shared.
    expect(dropped.removed).toBe(2);
    expect(dropped.kept).toBe(3);
    rmSync(join(root, 'parts'), { recursive: true });
    expect((await checkout(ws(root))).added).toEqual(['parts/']);
  });
});
