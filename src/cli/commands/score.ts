/**
 * @module cli/commands/score
 * `keel score --model <uri> --data <file> --out <file.parquet>`: batch scoring of a file with a
 * registered model, a thin call over `scoreDataset`.
 */
import type { Command } from 'commander';
import type { KeelConfig } from '../../core/index.js';
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
        .requiredOption('-o, --out <file>', 'the .parquet file to write (replaced atomically)')
        .option('--keep <columns>', 'input columns to copy beside the score, e.g. ids (a,b)', list)
        .option(
          '--columns <columns>',
          "the file's columns feeding a model that names none, in order (default: the file's other columns when as many)",
          list,
        )
        .option(
          '--chunk-rows <n>',
          'rows per scoring call (default 65536)',
          parseNumberOption('--chunk-rows', true),
        )
        .option(
          '--entities',
          "the file holds entity rows: join the model's features point in time from the offline store",
        )
        .option(
          '--event-timestamp-column <name>',
          "with --entities: the rows' timestamp (default event_timestamp)",
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
