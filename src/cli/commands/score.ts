/**
 * @module cli/commands/score
 * `keel score --model <uri> --data <file> --out <file.parquet>`: batch scoring of a file with a
 * registered model, a thin call over `scoreDataset`; with `--distributed`, over the job queue's
 * workers (`scoreDistributed`).
 */
import type { Command } from 'commander';
import { invalid, type KeelConfig } from '../../core/index.js';
import type { ScoreDatasetOptions, ScoreDatasetResult } from '../../serving/index.js';
import { action, type CsvFlags, csvFlags, csvOptionsFrom, parseNumberOption } from '../io.js';
import { withStore } from './features.js';

interface ScoreFlags extends CsvFlags {
  model: string;
  data: string;
  out: string;
  keep?: string[];
  columns?: string[];
  chunkRows?: number;
  entities?: boolean;
  eventTimestampColumn?: string;
  distributed?: boolean;
}

const list = (value: string, previous: string[] = []) => [...previous, ...value.split(',').filter(Boolean)];

async function score(
  config: KeelConfig,
  options: Omit<ScoreDatasetOptions, 'registry'>,
): Promise<ScoreDatasetResult> {
  // Loaded on use, so other commands do not pay for the registry and ONNX Runtime at startup.
  const [{ Registry }, { scoreDataset, sessionOptionsFrom }] = await Promise.all([
    import('../../registry/index.js'),
    import('../../serving/index.js'),
  ]);
  const registry = await Registry.open(config);
  try {
    return await scoreDataset({ ...options, registry, session: sessionOptionsFrom(config) });
  } finally {
    await registry.close();
  }
}

export function registerScoreCommand(program: Command): void {
  action(
    csvFlags(
      program
        .command('score')
        .description('score every row of a file with a registered model into a Parquet file')
        .requiredOption(
          '-m, --model <uri>',
          'the version: models:/name@alias, models:/name/3, models:/name/Stage',
        )
        .requiredOption(
          '-d, --data <file>',
          'Parquet, CSV (also .csv.gz) or JSON rows with the model columns',
        )
        .requiredOption(
          '-o, --out <file>',
          'the .parquet file to write (replaced atomically); with --distributed also a folder for the part files',
        )
        .option('--keep <columns>', 'input columns to copy beside the score, e.g. ids (a,b)', list)
        .option(
          '--columns <columns>',
          "the file's columns feeding a model that names none, in order (default: the file's other columns when as many)",
          list,
        )
        .option(
          '--chunk-rows <n>',
          'rows per scoring call (default 65536); with --distributed, rows per chunk job (default keel.yaml jobs.chunkRows)',
          parseNumberOption('--chunk-rows', true),
        )
        .option(
          '--entities',
          "the file holds entity rows: join the model's features point in time from the offline store",
        )
        .option(
          '--event-timestamp-column <name>',
          "with --entities: the rows' timestamp (default event_timestamp)",
        )
        .option(
          '--distributed',
          'split the file into chunks scored by `keel worker` processes (keel.yaml jobs) and wait for them',
        ),
    ),
    async (io, flags: ScoreFlags) => {
      const options = {
        model: flags.model,
        input: flags.data,
        output: flags.out,
        csv: csvOptionsFrom(flags),
        keep: flags.keep,
        columns: flags.columns,
        chunkRows: flags.chunkRows,
        eventTimestampColumn: flags.eventTimestampColumn,
        progress: io.progress,
      };
      if (flags.distributed) {
        if (flags.entities)
          throw invalid(
            '--distributed scores files of feature rows: join with keel features get-historical first',
          );
        const { scoreDistributed } = await import('../../jobs/index.js');
        const r = await scoreDistributed({ ...options, config: io.config });
        io.emit(
          {
            job: r.job,
            rows: r.rows,
            chunks: r.chunks,
            seconds: r.seconds,
            rows_per_second: r.rowsPerSecond,
            model: r.model,
            version: r.version,
            output: r.output,
            ...(r.parts ? { parts: r.parts } : {}),
            workers: r.workers,
            attempts: r.attempts,
            phases: r.phases,
          },
          (x) =>
            `scored ${x.rows} rows in ${x.chunks} chunks on ${x.workers.length} worker(s) with ${x.model} version ${x.version} in ${x.seconds.toFixed(2)} s (${Math.round(x.rows_per_second)} rows/s, job ${x.job}): ${x.output}`,
        );
        return;
      }
      const result = flags.entities
        ? await withStore(io, (features) => score(io.config, { ...options, features }))
        : await score(io.config, options);
      io.emit(
        {
          rows: result.rows,
          seconds: result.seconds,
          rows_per_second: result.rowsPerSecond,
          model: result.model,
          version: result.version,
          output: result.output,
        },
        (r) =>
          `scored ${r.rows} rows with ${r.model} version ${r.version} in ${r.seconds.toFixed(2)} s (${Math.round(r.rows_per_second)} rows/s): ${r.output}`,
      );
    },
  );
}
