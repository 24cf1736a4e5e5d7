/**
 * @module jobs/distributed-score
 * `keel score --distributed`: the input is cut into chunks of `chunkRows` rows (ranges of a
 * Parquet input read in place, or of a Parquet copy of a CSV or JSON one made in a staging folder
 * beside the output), one task per chunk is queued, and workers score them with `scoreDataset`,
 * each into its own part file named by the chunk's number. Workers must see the input, the
 * staging folder and the output at the same paths: one machine, or a shared volume. A part is written under a temporary name
 * and renamed, so a task tried again after its worker died replaces the part rather than adding
 * a second one, and a half-written part is never seen. When every chunk is scored, the output is
 * made from exactly the parts numbered 0..n-1:
 * - `--out scores.parquet`: the parts merged in chunk order into one file, renamed over the output;
 * - `--out scores/` (a name without `.parquet`): a folder of `part-000000.parquet`, ..., replacing
 *   the folder as a whole (read it with `read_parquet('scores/*.parquet')`).
 * Either way the rows come in the input's order. The model URI is resolved once, to a version,
 * before any chunk is queued: a promotion during the job does not mix versions in one output.
 */
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import {
  fsyncFile,
  invalid,
  type KeelConfig,
  KeelError,
  notFound,
  type ProgressFn,
  shortId,
} from '../core/index.js';
import { literal, withDuckDB } from '../data/index.js';
import type { ScoreDatasetOptions } from '../serving/index.js';
import type { ScoreChunkTask } from './handlers.js';
import { JobQueue } from './queue.js';

/** What `keel score` takes (model, input, CSV dialect, kept and model columns), spread over workers. */
export interface DistributedScoreOptions
  extends Pick<ScoreDatasetOptions, 'model' | 'input' | 'csv' | 'keep' | 'columns'> {
  config: KeelConfig;
  env?: NodeJS.ProcessEnv;
  /** A `.parquet` file (the parts merged) or a folder (the parts themselves). */
  output: string;
  /** Rows per chunk, one task each (default keel.yaml `jobs.chunkRows`). */
  chunkRows?: number;
  progress?: ProgressFn;
  /** How often the job's state is read (ms, default 250). */
  pollMs?: number;
}

export interface DistributedScoreResult {
  job: string;
  rows: number;
  chunks: number;
  seconds: number;
  rowsPerSecond: number;
  model: string;
  version: string;
  output: string;
  /** The part files, for a folder output. */
  parts?: string[];
  /** Every worker that started a chunk. */
  workers: string[];
  /** Tries started over all chunks (chunks when nothing was tried again). */
  attempts: number;
  /** Where the time went (s): splitting the input, the workers' scoring, making the output. */
  phases: { split: number; score: number; output: number };
}

export const partName = (index: number): string => `part-${String(index).padStart(6, '0')}.parquet`;

/**
 * Scores `input` over the queue's workers and waits for them.
 * @throws KeelError as `scoreDataset` does for the first chunk that fails (the rest are taken
 *   off the queue and nothing is written); TEMPORARILY_UNAVAILABLE when the queue's Redis does
 *   not answer.
 */
export async function scoreDistributed(o: DistributedScoreOptions): Promise<DistributedScoreResult> {
  const started = performance.now();
  const output = resolve(o.output);
  const merged = /\.parquet$/i.test(output);
  if (resolve(o.input) === output) throw invalid(`output '${o.output}' is the input file`);
  if (!existsSync(o.input)) throw notFound(`input file '${o.input}' does not exist`);
  const { Registry } = await import('../registry/index.js');
  const registry = await Registry.open(o.config);
  const version = await registry.resolveModelUri(o.model).finally(() => registry.close());
  const { name } = version.version;
  const pinned = `models:/${encodeURIComponent(name)}/${version.version.version}`;

  const queue = await JobQueue.open(o.config, o.env);
  const chunkRows = o.chunkRows ?? queue.settings.chunkRows;
  if (!Number.isInteger(chunkRows) || chunkRows < 1) throw invalid('chunkRows must be a positive integer');
  mkdirSync(dirname(output), { recursive: true });
  const stage = join(dirname(output), `.${basename(output)}.${shortId()}.distributed`);
  const partsDir = join(stage, 'parts');
  try {
    const { planChunks } = await import('../serving/index.js');
    const plan = await planChunks({ input: o.input, csv: o.csv, keep: o.keep ?? [], chunkRows, dir: stage });
    const { rows, chunks } = plan;
    mkdirSync(partsDir, { recursive: true });
    const split = performance.now();
    const payloads = chunks.map((range, index): ScoreChunkTask & Record<string, unknown> => ({
      model: pinned,
      input: plan.file,
      rows: range,
      inputName: o.input,
      output: join(partsDir, partName(index)),
      keep: o.keep ?? [],
      ...(o.columns ? { columns: o.columns } : {}),
    }));
    const job = await queue.submit('score', 'score-chunk', payloads, {
      model: o.model,
      version: pinned,
      input: resolve(o.input),
      output,
      rows,
      chunkRows,
    });
    const label = `score ${name} version ${version.version.version} on the workers`;
    // Nothing fails when no worker is connected yet: the chunks wait for one, and the bar says so.
    const connected = await queue.queue.getWorkersCount();
    const status = await queue.wait(
      job.id,
      ({ progress: p, tasks }) =>
        o.progress?.({
          label,
          done: tasks.reduce((n, t) => n + (t.state === 'completed' ? chunks[t.index].count : 0), 0),
          total: rows,
          unit: 'rows',
          info:
            connected === 0 && p.done + p.active === 0
              ? '(no keel worker connected yet: start one with keel worker)'
              : `(${p.done}/${p.total} chunks, ${p.active} running)`,
        }),
      o.pollMs,
    );
    const scoredAt = performance.now();
    const scored = status.tasks.reduce((n, t) => n + Number((t.result as { rows?: number })?.rows ?? 0), 0);
    if (scored !== rows)
      throw new KeelError('INTERNAL_ERROR', `the workers scored ${scored} rows of ${rows} in job ${job.id}`);
    const parts = chunks.map((_, i) => join(partsDir, partName(i)));
    const missing = parts.filter((p) => !existsSync(p));
    if (missing.length > 0)
      throw new KeelError('INTERNAL_ERROR', `job ${job.id} finished without the parts ${missing.join(', ')}`);
    if (merged) await mergeParts(parts, join(stage, 'merged.parquet'), output);
    else replaceFolder(partsDir, output, `${stage}.old`);
    const ended = performance.now();
    const seconds = (ended - started) / 1000;
    const result: DistributedScoreResult = {
      job: job.id,
      rows,
      chunks: chunks.length,
      seconds,
      rowsPerSecond: rows / seconds,
      model: name,
      version: String(version.version.version),
      output,
      ...(merged ? {} : { parts: chunks.map((_, i) => join(output, partName(i))) }),
      workers: status.workers,
      attempts: status.tasks.reduce((n, t) => n + t.attempts, 0),
      phases: {
        split: (split - started) / 1000,
        score: (scoredAt - split) / 1000,
        output: (ended - scoredAt) / 1000,
      },
    };
    await queue.finish(job.id, { result: { rows, seconds, output, chunks: chunks.length } });
    return result;
  } finally {
    rmSync(stage, { recursive: true, force: true });
    await queue.close();
  }
}

/** The parts, in order, as one Parquet file renamed over `output`. */
async function mergeParts(parts: string[], temp: string, output: string): Promise<void> {
  await withDuckDB((conn) =>
    conn.run(
      `COPY (SELECT * FROM read_parquet([${parts.map(literal).join(', ')}])) TO ${literal(temp)} (FORMAT parquet)`,
    ),
  );
  fsyncFile(temp);
  renameSync(temp, output);
  fsyncFile(dirname(output));
}

/**
 * Makes `parts` the folder `output`: only the part files (a dead worker's temporary files stay
 * behind), swapped in for any previous output.
 */
function replaceFolder(parts: string, output: string, old: string): void {
  for (const entry of readdirSync(parts))
    if (!/^part-\d{6}\.parquet$/.test(entry)) rmSync(join(parts, entry), { recursive: true, force: true });
  if (existsSync(output)) renameSync(output, old);
  renameSync(parts, output);
  fsyncFile(dirname(output));
  rmSync(old, { recursive: true, force: true });
}
