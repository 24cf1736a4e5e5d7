/**
 * @module cli/commands/data
 * `keel ingest DATASET PATH... --schema schema.yaml`, `keel datasets list|show|rm` and
 * `keel show FILE`: thin calls over the data layer (loaded when a command runs).
 */
import type { Command } from 'commander';
import type { FilePreview } from '../../data/index.js';
import { action, type CsvFlags, csvFlags, csvOptionsFrom, parseNumberOption } from '../io.js';
import { formatTable, formatTime } from '../table.js';

interface IngestFlags extends CsvFlags {
  schema: string;
  maxMissing?: number;
  maxDuplicates?: number;
  format?: 'csv' | 'parquet' | 'json';
  force?: boolean;
}

const loadData = () => import('../../data/index.js');

const cell = (v: unknown): string => {
  if (v === null || v === undefined) return '';
  if (v instanceof Date) return v.toISOString();
  if (typeof v === 'object') return JSON.stringify(v, (_, x) => (typeof x === 'bigint' ? String(x) : x));
  return String(v);
};

const count = (n: number) => n.toLocaleString('en-US');

function previewText(p: FilePreview): string {
  const dialect = p.csv
    ? ` ('${p.csv.delimiter === '\t' ? '\\t' : p.csv.delimiter}'-separated${p.csv.sniffed ? ', sniffed' : ''}, ${p.csv.header ? 'header' : 'no header'}; CSV cells are text until a schema types them)`
    : '';
  return [
    `${p.path}: ${p.format}${dialect}, ${count(p.rows)} rows, ${p.columns.length} columns`,
    formatTable(
      ['COLUMN', 'TYPE'],
      p.columns.map((c) => [c.name, c.type]),
    ),
    '',
    `first ${p.head.length} rows:`,
    formatTable(
      p.columns.map((c) => c.name),
      p.head.map((r) => p.columns.map((c) => cell(r[c.name]))),
    ),
  ].join('\n');
}

function registerDatasets(program: Command): void {
  const datasets = program.command('datasets').description('the datasets of the offline store (keel ingest)');
  action(datasets.command('list').description('list datasets with their partitions and rows'), async (io) => {
    const { listDatasets } = await loadData();
    io.emit(listDatasets(io.config.home), (list) =>
      formatTable(
        ['NAME', 'PARTITIONS', 'ROWS', 'LAST INGEST'],
        list.map((d) => [
          d.name,
          String(d.partitions),
          count(d.rows),
          d.lastIngest === undefined ? '' : formatTime(d.lastIngest),
        ]),
      ),
    );
  });
  action(
    datasets
      .command('show')
      .description('show a dataset: columns, digest and every ingest')
      .argument('<dataset>'),
    async (io, name: string) => {
      const { showDataset } = await loadData();
      io.emit(await showDataset(io.config.home, name), (d) =>
        [
          `dataset ${d.name}: ${count(d.rows)} rows in ${d.partitions} partition${d.partitions === 1 ? '' : 's'} (${d.path})`,
          `digest ${d.digest}`,
          formatTable(
            ['COLUMN', 'TYPE'],
            d.columns.map((c) => [c.name, c.type]),
          ),
          '',
          'ingests:',
          formatTable(
            ['WHEN', 'ROWS', 'FILES', 'PARTITION'],
            d.ingests.map((h) => [
              formatTime(h.at),
              count(h.rows),
              h.files.join(' '),
              h.partition.split('/').pop() ?? h.partition,
            ]),
          ),
        ].join('\n'),
      );
    },
  );
  action(
    datasets
      .command('rm')
      .description('remove a dataset: its partitions and ingest history')
      .argument('<dataset>'),
    async (io, name: string) => {
      const { removeDataset } = await loadData();
      io.emit(
        await removeDataset(io.config.home, name),
        (d) => `removed dataset ${d.name}: ${d.partitions} partitions, ${count(d.rows)} rows`,
      );
    },
  );
}

export function registerDataCommands(program: Command): void {
  action(
    csvFlags(
      program
        .command('ingest')
        .description('validate files against a schema and add them to a dataset of the offline store')
        .argument('<dataset>', 'the dataset to ingest into')
        .argument('<paths...>', 'CSV (also .csv.gz), Parquet or JSON/NDJSON files')
        .requiredOption('--schema <file>', 'schema.yaml with the columns and rules (docs/ingest-schema.md)')
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
      const { formatReport, ingest, loadSchemaFile } = await loadData();
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
  registerDatasets(program);
  action(
    csvFlags(
      program
        .command('show')
        .description('show a Parquet, CSV or JSON file: its columns and types, row count and first rows')
        .argument('<file>')
        .option('-n, --rows <n>', 'how many rows to show', parseNumberOption('--rows', true), 10),
    ),
    async (io, file: string, flags: CsvFlags & { rows: number }) => {
      const { previewFile } = await loadData();
      io.emit(await previewFile(file, { rows: flags.rows, csv: csvOptionsFrom(flags) }), previewText);
    },
  );
}
