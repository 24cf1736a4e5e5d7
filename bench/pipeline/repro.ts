/**
 * Benchmark: a no-op `repro` over a 1 GB, 10,000-file data folder with a warm stat cache (target
 * under 0.5 s), against the same no-op with the stat cache removed (every file hashed again); and
 * first-time hashing throughput against `md5sum` on the same files.
 *
 * Run: npx tsx bench/pipeline/repro.ts   (the data is made once under /tmp and reused)
 */
import { execSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { Hasher, repro, Workspace } from '../../src/pipeline/index.js';

const FILES = 10_000;
const FILE_BYTES = 100_000;
const ROOT = '/tmp/keel-bench-pipeline';
const DATA = join(ROOT, 'data');

function makeData(): void {
  if (existsSync(DATA) && readdirSync(DATA).length === 100) return;
  rmSync(DATA, { recursive: true, force: true });
  const block = randomBytes(FILE_BYTES + FILES);
  for (let i = 0; i < FILES; i++) {
    const dir = join(DATA, String(i % 100).padStart(2, '0'));
    mkdirSync(dir, { recursive: true });
    // Distinct contents from one random block: each file starts at its own offset.
    writeFileSync(join(dir, `f${i}.bin`), block.subarray(i, i + FILE_BYTES));
  }
}

const seconds = (start: bigint) => Number(process.hrtime.bigint() - start) / 1e9;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function timeRepro(): Promise<number> {
  const start = process.hrtime.bigint();
  const ws = Workspace.open(ROOT);
  try {
    const r = await repro(ws);
    if (r.stages[0].status !== 'unchanged') throw new Error(`expected a no-op, got ${r.stages[0].status}`);
  } finally {
    await ws.close();
  }
  return seconds(start);
}

makeData();
console.log(
  `machine: ${cpus().length} cores, load average ${loadavg()[0].toFixed(1)} (figures scale with it)`,
);
writeFileSync(
  join(ROOT, 'dvc.yaml'),
  'stages:\n  count:\n    cmd: find data -type f | wc -l > count.txt\n    deps: [data]\n    outs: [count.txt]\n',
);
// Read everything once so both hashers below read from the page cache.
execSync(`cat ${DATA}/*/* > /dev/null`);

let start = process.hrtime.bigint();
execSync(`find ${DATA} -type f -print0 | xargs -0 md5sum > /dev/null`);
const md5sumSeconds = seconds(start);
start = process.hrtime.bigint();
const info = await new Hasher().hash(DATA);
const keelSeconds = seconds(start);
const mb = info.size / 1e6;
console.log(`data: ${info.nfiles} files, ${mb.toFixed(0)} MB (${info.md5})`);
console.log(
  `first-time hashing: keel ${(mb / keelSeconds).toFixed(0)} MB/s (${keelSeconds.toFixed(2)} s), md5sum ${(mb / md5sumSeconds).toFixed(0)} MB/s (${md5sumSeconds.toFixed(2)} s), ratio keel/md5sum ${(md5sumSeconds / keelSeconds).toFixed(2)}x`,
);

rmSync(join(ROOT, '.keel'), { recursive: true, force: true });
rmSync(join(ROOT, 'dvc.lock'), { force: true });
const ws = Workspace.open(ROOT);
await repro(ws);
await ws.close();

const warm: number[] = [];
for (let i = 0; i < 5; i++) warm.push(await timeRepro());
rmSync(join(ROOT, '.keel', 'tmp', 'md5s.db'), { force: true });
rmSync(join(ROOT, '.keel', 'tmp', 'md5s.db-wal'), { force: true });
rmSync(join(ROOT, '.keel', 'tmp', 'md5s.db-shm'), { force: true });
const cold = await timeRepro();
const warmMedian = median(warm);
console.log(
  `no-op repro, warm stat cache: median ${(warmMedian * 1000).toFixed(0)} ms of 5 (target < 500 ms) ${warmMedian < 0.5 ? 'PASS' : 'MISS'}`,
);
console.log(
  `no-op repro, no stat cache (baseline, every file re-hashed): ${(cold * 1000).toFixed(0)} ms; ratio ${(cold / warmMedian).toFixed(1)}x`,
);
