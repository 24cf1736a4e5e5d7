/**
 * Processes from Linux's /proc, for tests and benches that look at a server's workers (their
 * memory maps, their CPU time).
 */
import { readdirSync, readFileSync } from 'node:fs';

/** A process and its descendants (a `keel serve` primary's workers, theirs), or [] without /proc. */
export function processTree(pid: number): number[] {
  try {
    const tree = [pid];
    for (const task of readdirSync(`/proc/${pid}/task`))
      for (const child of readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8')
        .split(' ')
        .filter(Boolean))
        tree.push(...processTree(Number(child)));
    return tree;
  } catch {
    return [];
  }
}
