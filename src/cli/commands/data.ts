/**
 * @module cli/commands/data
 * `keel ingest DATASET PATH... --schema schema.yaml`: a thin call over the data layer's `ingest`.
 */
import type { Command } from 'commander';
import { formatReport, ingest, loadSchemaFile } from '../../data/index.js';
import { action, type CsvFlags, csvFlags, csvOptionsFrom, parseNumberOption } from '../io.js';

interface IngestFlags extends CsvFlags {
  schema: string;
  maxMissing?: number;
  maxDuplicates?: number;
  format?: 'csv' | 'parquet' | 'json';
  force?: boolean;
}

export function registerDataCommands(program: Command): void {
  action(
    csvFlags(
      program
        .command('ingest')
        .description('validate files against a schema and add them to a dataset of the offline store')
        .argument('<dataset>', 'the dataset to ingest into')
        .argument('<paths...>', 'CSV (also .csv.gz), Parquet or JSON/NDJSON files')
        .requiredOption('--schema <file>', 'schema.yaml with the columns and rules')
        .option(
          '--max-missing <share>',
          'largest share (0..1) of missing values in a nullable column',
          parseNumberOption('--max-missing'),
        )
        .option(
          '--max-duplicates <share>',
          'largest share (0..1) of exact duplicate rows',
          parseNumberOption('--max-duplicates'),
        )
        .option('--format <format>', 'csv, parquet or json (default: from each extension)')
        .option('--force', 'ingest even a batch identical to one ingested before (same file digests)'),
    ),
    async (io, dataset: string, paths: string[], flags: IngestFlags) => {
      const spec = loadSchemaFile(flags.schema);
      const rules = {
        ...spec.rules,
        ...(flags.maxMissing === undefined ? {} : { maxMissingShare: flags.maxMissing }),
        ...(flags.maxDuplicates === undefined ? {} : { maxDuplicateShare: flags.maxDuplicates }),
      };
      const report = await ingest({
        ...spec,
        home: io.config.home,
        dataset,
        paths,
        rules,
        format: flags.format ?? spec.format,
        csv: { ...spec.csv, ...csvOptionsFrom(flags) },
        force: flags.force,
        onProgress: io.progress,
      });
      io.emit(report, formatReport);
    },
  );
}
