/**
 * What an acknowledged write to the SQLite metadata database survives is SQLite's `synchronous`
 * in WAL mode: FULL (the WAL is synced at every commit: a power loss keeps it) unless keel.yaml
 * says `metadata: { type: sqlite, synchronous: normal }` (synced at checkpoints: a process crash
 * keeps it, a power loss may not). The setting must reach the connection `keel serve` writes with.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/core/index.js';
import { Registry } from '../../src/registry/index.js';
import { tempDir } from '../helpers/temp.js';

/** SQLite's codes for PRAGMA synchronous. */
const NORMAL = 1;
const FULL = 2;

async function registrySynchronous(cwd: string, env: Record<string, string> = {}): Promise<number> {
  const registry = await Registry.open(loadConfig({ cwd, env }));
  try {
    const row = await registry.tracking.db.get<{ synchronous: number }>('PRAGMA synchronous');
    const mode = await registry.tracking.db.get<{ journal_mode: string }>('PRAGMA journal_mode');
    expect(mode?.journal_mode).toBe('wal');
    return row?.synchronous ?? -1;
  } finally {
    await registry.close();
  }
}

describe('metadata database durability', () => {
  it('syncs every commit (FULL) by default, the connection keel serve writes with', async () => {
    expect(await registrySynchronous(tempDir())).toBe(FULL);
    // KEEL_DB naming a file keeps the default.
    const cwd = tempDir();
    expect(await registrySynchronous(cwd, { KEEL_DB: join(cwd, 'other.db') })).toBe(FULL);
  });

  it('trades it for speed with one line of keel.yaml, which KEEL_DB keeps', async () => {
    const cwd = tempDir();
    writeFileSync(join(cwd, 'keel.yaml'), 'metadata: { type: sqlite, synchronous: normal }\n');
    expect(await registrySynchronous(cwd)).toBe(NORMAL);
    expect(await registrySynchronous(cwd, { KEEL_DB: join(cwd, 'other.db') })).toBe(NORMAL);
    writeFileSync(join(cwd, 'keel.yaml'), 'metadata: { type: sqlite, synchronous: full }\n');
    expect(await registrySynchronous(cwd)).toBe(FULL);
  });

  it('refuses another value, naming the field and the choices', () => {
    const cwd = tempDir();
    writeFileSync(join(cwd, 'keel.yaml'), 'metadata: { type: sqlite, synchronous: off }\n');
    expect(() => loadConfig({ cwd, env: {} })).toThrow(/metadata\.synchronous: .*"full".*"normal"/);
  });
});
