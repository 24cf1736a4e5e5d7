/**
 * One contender of the file-lock race: at START (ms since the epoch) it tries to take each of
 * COUNT locks `lock-<i>` in DIR, keeps every one it gets, prints their numbers as JSON and holds
 * them, alive, until its stdin closes (a dead holder's lock may be taken over, rightly).
 * Usage: node --import tsx lock-child.ts DIR COUNT START
 */
import { join } from 'node:path';
import { acquireFileLock, isKeelError } from '../../src/core/index.js';

const [dir, count, start] = process.argv.slice(2);
while (Date.now() < Number(start)) {
  // Spin, not sleep: the contenders should hit the first lock within the same millisecond.
}
const held: number[] = [];
for (let i = 0; i < Number(count); i++) {
  try {
    acquireFileLock(join(dir, `lock-${i}`), () => 'busy');
    held.push(i);
  } catch (err) {
    if (!isKeelError(err, 'FAILED_PRECONDITION')) throw err;
  }
}
process.stdout.write(`${JSON.stringify(held)}\n`);
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
