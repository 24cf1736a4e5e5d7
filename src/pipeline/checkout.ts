/**
 * @module pipeline/checkout
 * Restoring outputs from the object cache as the lock records them (`keel checkout`, and the run
 * cache's restore). Restored files are entered in the stat cache, so they are not hashed again.
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { LockOut } from './lock.js';
import { readLock } from './lock.js';
import type { Stage } from './schema.js';
import type { Workspace } from './workspace.js';

/** Copies object `md5` to `dest` and records the copy's stat in the stat cache. */
export function restoreOutput(ws: Workspace, md5: string, dest: string): void {
  ws.objects.checkout(md5, dest);
  const record = (path: string, hash: string) => {
    const st = statSync(path);
    ws.state.set({ ino: st.ino, mtimeMs: st.mtimeMs, size: st.size }, hash);
  };
  if (!md5.endsWith('.dir')) record(dest, md5);
  else for (const e of ws.objects.readManifest(md5)) record(join(dest, e.relpath), e.md5);
  ws.state.flush();
}

/** One output `keel checkout` looked at. */
export interface CheckoutEntry {
  stage: string;
  path: string;
  action: 'restored' | 'unchanged' | 'missing from cache';
}

async function checkoutOut(ws: Workspace, stage: Stage, out: LockOut): Promise<CheckoutEntry> {
  const abs = ws.abs(stage, out.path);
  const base = { stage: stage.name, path: out.path };
  if (existsSync(abs) && (await ws.hasher.hash(abs)).md5 === out.md5) return { ...base, action: 'unchanged' };
  if (!out.md5 || !ws.objects.has(out.md5)) return { ...base, action: 'missing from cache' };
  restoreOutput(ws, out.md5, abs);
  return { ...base, action: 'restored' };
}

/**
 * Brings cached outputs in the workspace back to what dvc.lock records (outs with `cache: false`
 * are left alone, as DVC does).
 * @param targets stage names; default every stage in the lock.
 */
export async function checkout(ws: Workspace, targets: string[] = []): Promise<CheckoutEntry[]> {
  const lock = readLock(ws.lockPath);
  const entries: CheckoutEntry[] = [];
  for (const stage of ws.dag.order) {
    if (targets.length && !targets.some((t) => stage.name === t || stage.name.startsWith(`${t}@`))) continue;
    const locked = lock.stages[stage.name];
    for (const out of locked?.outs ?? []) {
      if (stage.outs.find((o) => o.path === out.path)?.cache === false) continue;
      entries.push(await checkoutOut(ws, stage, out));
    }
  }
  return entries;
}
