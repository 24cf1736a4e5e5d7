/**
 * Benchmark: first-time hashing, beside `md5sum` in the same run.
 * - one large file: CPU seconds per GB for Keel's `md5FileSync` (8 MiB reads on the main thread),
 *   for the stream Keel used before (`createReadStream`, 1 MiB chunks) and for `md5sum`;
 * - 20,000 small files in one folder tree: files/s for `Hasher.hash` (walk with .dvcignore, stat,
 *   hash on worker threads, no stat cache) and for `md5sum` over the same files.
 *
 * Run: npx tsx bench/pipeline/hashing.ts [large-file MB, default 1024]   (data made once under /tmp)
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { Hasher, md5FileSync } from '../../src/pipeline/hash.js';

const ROOT = '/tmp/keel-bench-hashing';
const MB = Number(process.argv[2] ?? 1024);
const BIG = join(ROOT, `big-${MB}mb.bin`);
const SMALL = join(ROOT, 'small');
const FILES = 20_000;

function makeData(): void {
  mkdirSync(ROOT, { recursive: true });
  if (!existsSync(BIG) || statSync(BIG).size !== MB << 20) {
    const block = randomBytes(1 << 20);
    const parts = Array.from({ length: MB }, (_, i) =>
      Buffer.concat([block.subarray(i % 1024), block.subarray(0, i % 1024)]),
    );
    writeFileSync(BIG, Buffer.concat(parts));
  }
  if (!existsSync(SMALL) || readdirSync(SMALL).length !== 200) {
    const block = randomBytes(64 << 10);
    for (let i = 0; i < FILES; i++) {
      const dir = join(SMALL, String(i % 200).padStart(3, '0'));
      mkdirSync(dir, { recursive: true });
      // 1-8 KiB files with distinct contents.
      writeFileSync(join(dir, `f${i}.txt`), block.subarray(i % 4096, (i % 4096) + 1024 * (1 + (i % 8))));
    }
  }
}

const cpuSeconds = (start: NodeJS.CpuUsage) => {
  const d = process.cpuUsage(start);
  return (d.user + d.system) / 1e6;
};

/** CPU seconds (user + system) and wall seconds of a command, as GNU time reports them. */
function timed(cmd: string, args: string[]): { cpu: number; wall: number } {
  const r = spawnSync('/usr/bin/time', ['-f', '%U %S %e', cmd, ...args], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const [u, s, e] = r.stderr.toString().trim().split('\n').pop()!.split(' ').map(Number);
  return { cpu: u + s, wall: e };
}

function streamMd5(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('md5');
    createReadStream(path, { highWaterMark: 1 << 20 })
      .on('data', (c) => hash.update(c))
      .on('error', reject)
      .on('end', () => resolve(hash.digest('hex')));
  });
}

makeData();
console.log(
  `machine: ${cpus().length} cores, load average ${loadavg()[0].toFixed(1)} (figures scale with it)`,
);
execFileSync('cat', [BIG], { stdio: 'ignore', maxBuffer: 1 << 30 });

const gb = MB / 1024;
const best = (xs: number[]) => Math.min(...xs);
const md5sumCpu: number[] = [];
const keelCpu: number[] = [];
const streamCpu: number[] = [];
for (let round = 0; round < 3; round++) {
  md5sumCpu.push(timed('md5sum', [BIG]).cpu);
  let start = process.cpuUsage();
  md5FileSync(BIG);
  keelCpu.push(cpuSeconds(start));
  start = process.cpuUsage();
  await streamMd5(BIG);
  streamCpu.push(cpuSeconds(start));
}
console.log(`large file (${MB} MB), CPU seconds per GB, best of 3:`);
console.log(`  md5sum                         ${(best(md5sumCpu) / gb).toFixed(2)}`);
console.log(
  `  keel md5FileSync (8 MiB reads)  ${(best(keelCpu) / gb).toFixed(2)}  (${(best(keelCpu) / best(md5sumCpu)).toFixed(2)}x md5sum)`,
);
console.log(
  `  previous stream (1 MiB chunks)  ${(best(streamCpu) / gb).toFixed(2)}  (${(best(streamCpu) / best(md5sumCpu)).toFixed(2)}x md5sum)`,
);

execFileSync('bash', ['-c', `find ${SMALL} -type f -exec cat {} + > /dev/null`]);
const sums: number[] = [];
const keel: number[] = [];
for (let round = 0; round < 3; round++) {
  sums.push(timed('bash', ['-c', `find ${SMALL} -type f -print0 | xargs -0 md5sum > /dev/null`]).wall);
  const start = process.hrtime.bigint();
  const hasher = new Hasher();
  const info = await hasher.hash(SMALL);
  keel.push(Number(process.hrtime.bigint() - start) / 1e9);
  await hasher.close();
  if (info.nfiles !== FILES) throw new Error(`expected ${FILES} files, hashed ${info.nfiles}`);
}
console.log(`${FILES} small files (1-8 KiB), first-time hashing, files/s, best of 3:`);
console.log(`  md5sum (find | xargs)  ${(FILES / best(sums)).toFixed(0)}`);
console.log(
  `  keel Hasher.hash       ${(FILES / best(keel)).toFixed(0)}  (${(best(sums) / best(keel)).toFixed(2)}x md5sum's rate)`,
);
