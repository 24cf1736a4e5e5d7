/**
 * Distributed batch scoring throughput: `keel score --distributed`'s `scoreDistributed` over a
 * generated 1M-row Parquet file (the batch.ts data and GBDT), with 1 and then 2 `keel worker`
 * processes on the Redis of this machine, against `scoreDataset` in this process as the
 * baseline, all measured in the same run. Every figure counts the whole call: the split into
 * chunks, queueing, the workers' scoring (each chunk a model load and a part file), and the
 * merge into one Parquet file. Workers scale with the cores the machine gives them: read the
 * load average printed beside the figures.
 *
 * Needs `npm run build` (the workers run dist/cli/main.js) and Redis (KEEL_TEST_REDIS_URL, default
 * redis://127.0.0.1:6379).
 *
 * Run: npx tsx bench/serving/batch-distributed.ts [rows=1000000] [chunkRows=125000] [repeats=2]
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, shortId } from '../../src/core/index.js';
import { JobQueue, scoreDistributed } from '../../src/jobs/index.js';
import { Registry } from '../../src/registry/index.js';
import { scoreDataset } from '../../src/serving/index.js';
import { generate, registerBenchModel, TREES } from './batch-common.js';

const ROWS = Number(process.argv[2] ?? 1_000_000);
const CHUNK_ROWS = Number(process.argv[3] ?? 125_000);
const repeats = Number(process.argv[4] ?? 2);
const REDIS = process.env.KEEL_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const CLI = join(import.meta.dirname, '..', '..', 'dist', 'cli', 'main.js');

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

/** A `keel worker` child process, resolved once it takes tasks. */
function startWorker(cwd: string, name: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, [CLI, 'worker', '--name', name], {
    cwd,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      if (out.includes('takes tasks from')) resolve(child);
    });
    child.once('exit', (code) => reject(new Error(`worker ${name} exited ${code}: ${out}`)));
  });
}

async function stopWorker(child: ChildProcess): Promise<void> {
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

async function main() {
  const cwd = mkdtempSync(join(tmpdir(), 'keel-bench-'));
  const prefix = `keel-bench-${shortId()}`;
  writeFileSync(
    join(cwd, 'keel.yaml'),
    `governance:\n  stages: {}\njobs:\n  redis: ${REDIS}\n  prefix: ${prefix}\n`,
  );
  const config = loadConfig({ cwd, env: {} });
  const workers: ChildProcess[] = [];
  try {
    console.log(`load average at start: ${load()} (${cpus().length} cores)`);
    const input = join(cwd, 'rows.parquet');
    await generate(input, ROWS, 0.25);
    const registry = await Registry.open(config);
    await registerBenchModel(registry, cwd);

    const model = 'models:/bench@champion';
    const runDistributed = async (): Promise<number> => {
      const r = await scoreDistributed({
        config,
        env: {},
        model,
        input,
        output: join(cwd, 'distributed.parquet'),
        keep: ['id'],
        chunkRows: CHUNK_ROWS,
      });
      if (r.rows !== ROWS) throw new Error(`scored ${r.rows} rows of ${ROWS}`);
      const p = r.phases;
      console.log(
        `  ${r.workers.length} worker(s): ${r.seconds.toFixed(2)} s (split ${p.split.toFixed(2)}, score ${p.score.toFixed(2)}, merge ${p.output.toFixed(2)}); load ${load()}`,
      );
      return r.seconds;
    };
    // The three runs take turns in each repeat, so a change in the machine's load falls on all.
    const inProcess: number[] = [];
    const one: number[] = [];
    const two: number[] = [];
    for (let i = 0; i < repeats; i++) {
      const r = await scoreDataset({
        registry,
        model,
        input,
        output: join(cwd, 'local.parquet'),
        keep: ['id'],
      });
      console.log(`  in process: ${r.seconds.toFixed(2)} s; load ${load()}`);
      inProcess.push(r.seconds);
      if (workers.length === 0) workers.push(await startWorker(cwd, 'bench-1'));
      one.push(await runDistributed());
      workers.push(await startWorker(cwd, 'bench-2'));
      two.push(await runDistributed());
      await stopWorker(workers.pop() as ChildProcess);
    }
    await registry.close();

    const rate = (s: number) => Math.round(ROWS / s).toLocaleString('en-US');
    const lines: Array<[string, number]> = [
      ['scoreDataset in this process (baseline)', median(inProcess)],
      ['scoreDistributed, 1 keel worker', median(one)],
      ['scoreDistributed, 2 keel workers', median(two)],
    ];
    console.log(
      `${ROWS.toLocaleString('en-US')} rows, GBDT ${TREES} trees, chunks of ${CHUNK_ROWS.toLocaleString('en-US')} rows (${Math.ceil(ROWS / CHUNK_ROWS)} jobs), median of ${repeats}`,
    );
    for (const [label, s] of lines)
      console.log(
        `${label.padEnd(42)} ${(s * 1000).toFixed(0).padStart(6)} ms  ${rate(s).padStart(11)} rows/s`,
      );
    console.log(`ratio 2 workers / 1 worker (rows/s):   ${(median(one) / median(two)).toFixed(2)}`);
    console.log(`ratio 1 worker / in-process (rows/s):  ${(median(inProcess) / median(one)).toFixed(2)}`);
    console.log(`ratio 2 workers / in-process (rows/s): ${(median(inProcess) / median(two)).toFixed(2)}`);
    console.log(`load average at end: ${load()}`);
  } finally {
    await Promise.all(workers.map(stopWorker));
    const queue = await JobQueue.open(config, {});
    await queue.destroy();
    await queue.close();
    rmSync(cwd, { recursive: true, force: true });
  }
}

await main();
