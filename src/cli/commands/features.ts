/**
 * @module cli/commands/features
 * `keel features ...`: apply and inspect definitions, build training sets, materialize and read
 * online features. Each command is a thin call into the `FeatureStore` facade.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { invalid, notFound } from '../../core/index.js';
import type { FeatureSelection, FeatureStore } from '../../features/index.js';
import { action, type CommandIO, repeatOption } from '../io.js';

const list = (value: string, previous: string[] = []) => [...previous, ...value.split(',').filter(Boolean)];

// The feature store (DuckDB, tsx) loads when a command runs, not when the CLI starts.
export const loadFeatures = () => import('../../features/index.js');

/** Runs `work` with the feature store of the Keel home, closed afterwards. */
export async function withStore<T>(
  io: CommandIO,
  work: (store: FeatureStore) => Promise<T>,
  at?: number,
): Promise<T> {
  const { FeatureStore } = await loadFeatures();
  const store = new FeatureStore({
    config: io.config,
    clock: at === undefined ? undefined : { now: () => at },
  });
  try {
    return await work(store);
  } finally {
    await store.close();
  }
}

function selection(opts: { features?: string[]; featureService?: string }): FeatureSelection {
  if (opts.featureService) return { featureService: opts.featureService };
  if (opts.features?.length) return { features: opts.features };
  throw invalid('give --features view:feature,... or --feature-service NAME');
}

function findRepo(io: CommandIO, repo?: string): string {
  if (repo) return resolve(repo);
  const found = ['features.ts', 'features.js', 'features.mjs']
    .map((f) => join(io.config.root, f))
    .find(existsSync);
  if (!found) throw notFound(`no feature repo: give --repo, or put features.ts in ${io.config.root}`);
  return found;
}

/** `key=value` pairs into columns of text; the store types them by what the registry declares. */
function entityText(pairs: string[]): Record<string, string[]> {
  const columns: Record<string, string[]> = {};
  for (const pair of pairs) {
    const at = pair.indexOf('=');
    if (at <= 0) throw invalid(`--entity '${pair}' is not key=value`);
    const key = pair.slice(0, at);
    columns[key] = [...(columns[key] ?? []), pair.slice(at + 1)];
  }
  if (Object.keys(columns).length === 0) throw invalid('give at least one --entity key=value');
  return columns;
}

/** As `io.emit`, with int64s beyond 2^53 printed exactly in JSON (JSON.stringify cannot). */
async function emitExact<T>(io: CommandIO, result: T, human: (result: T) => string): Promise<void> {
  const { stringifyExact } = await loadFeatures();
  if (io.json) process.stdout.write(`${stringifyExact(result, 2)}\n`);
  else io.emit(result, human);
}

interface OnlineOptions {
  features?: string[];
  featureService?: string;
  entity: string[];
  fullFeatureNames?: boolean;
  at?: string;
}

const table = (rows: Record<string, unknown>[]) =>
  rows
    .map((r) =>
      Object.entries(r)
        .map(([k, v]) => `${k}=${v === null ? '∅' : String(v)}`)
        .join('  '),
    )
    .join('\n');

export function registerFeaturesCommands(program: Command): void {
  const features = program
    .command('features')
    .description('feature store: definitions, training sets, online features');

  action(
    features
      .command('apply')
      .description('register the definitions of a feature repo (versioned)')
      .option('--repo <path>', 'the repo module (default: features.ts in the project root)')
      .option('--force', 'accept incompatible schema changes'),
    (io, opts: { repo?: string; force?: boolean }) =>
      withStore(io, async (store) => {
        const changes = await store.apply(findRepo(io, opts.repo), { force: opts.force });
        io.emit({ changes }, (r) =>
          r.changes.map((c) => `${c.change.padEnd(9)} ${c.kind} ${c.name} v${c.version}`).join('\n'),
        );
      }),
  );

  action(features.command('list').description('list registered definitions'), (io) =>
    withStore(io, async (store) => {
      const reg = store.registry();
      const result = {
        entities: Object.values(reg.entities).map(({ spec, version }) => ({
          name: spec.name,
          joinKey: spec.joinKey,
          version,
        })),
        featureViews: Object.values(reg.featureViews).map(({ spec, version }) => ({
          name: spec.name,
          version,
          entities: spec.entities.map((e) => e.name),
          features: Object.keys(spec.schema),
          ttl: spec.ttl,
          online: spec.online,
        })),
        onDemandFeatureViews: Object.values(reg.onDemandFeatureViews).map(({ spec, version }) => ({
          name: spec.name,
          version,
          features: Object.keys(spec.schema),
        })),
        featureServices: Object.values(reg.featureServices).map(({ spec, version }) => ({
          name: spec.name,
          version,
          features: spec.features,
        })),
      };
      io.emit(
        result,
        (r) =>
          [
            ...r.entities.map((e) => `entity        ${e.name} (${e.joinKey}) v${e.version}`),
            ...r.featureViews.map((v) => `feature view  ${v.name} v${v.version}: ${v.features.join(', ')}`),
            ...r.onDemandFeatureViews.map(
              (v) => `on-demand     ${v.name} v${v.version}: ${v.features.join(', ')}`,
            ),
            ...r.featureServices.map(
              (s) => `service       ${s.name} v${s.version}: ${s.features.join(', ')}`,
            ),
          ].join('\n') || 'no definitions registered',
      );
    }),
  );

  action(
    features.command('describe').description('show one registered definition').argument('<name>'),
    (io, name: string) =>
      withStore(io, async (store) => {
        const reg = store.registry();
        const kinds = ['featureViews', 'onDemandFeatureViews', 'featureServices', 'entities'] as const;
        const kind = kinds.find((k) => name in reg[k]);
        if (!kind) throw notFound(`'${name}' is not a registered feature view, service or entity`);
        io.emit({ kind, ...reg[kind][name] }, (r) => JSON.stringify(r, null, 2));
      }),
  );

  action(
    features
      .command('get-historical')
      .description('join features onto entity rows, point in time correct')
      .requiredOption('--entities <file>', 'CSV or Parquet of join keys and event timestamps')
      .option('--features <refs>', 'comma-separated view:feature refs', list)
      .option('--feature-service <name>', 'a feature service instead of --features')
      .option('--event-timestamp-column <name>', 'the entity rows timestamp column', 'event_timestamp')
      .option('--full-feature-names', 'name columns view__feature')
      .option('--as-of-created', 'also ignore feature rows created after each event (late arrivals)')
      .option('--out <file.parquet>', 'write Parquet here instead of printing rows'),
    (
      io,
      opts: {
        entities: string;
        features?: string[];
        featureService?: string;
        eventTimestampColumn: string;
        fullFeatureNames?: boolean;
        asOfCreated?: boolean;
        out?: string;
      },
    ) =>
      withStore(io, async (store) => {
        const result = await store.getHistoricalFeatures({
          ...selection(opts),
          entityRows: { path: resolve(opts.entities) },
          eventTimestampColumn: opts.eventTimestampColumn,
          fullFeatureNames: opts.fullFeatureNames,
          asOfCreated: opts.asOfCreated,
          out: opts.out ? resolve(opts.out) : undefined,
        });
        const shown = opts.out
          ? { out: resolve(opts.out), rowCount: result.rowCount, columns: result.columns }
          : result;
        await emitExact(io, shown, (r) =>
          'rows' in r ? table(r.rows) : `wrote ${r.rowCount} rows to ${r.out}`,
        );
      }),
  );

  const summaries = (r: { views: { view: string; rows: number; start: string; end: string }[] }) =>
    r.views.map((v) => `${v.view}: ${v.rows} rows (${v.start} .. ${v.end})`).join('\n') ||
    'nothing to materialize';

  action(
    features
      .command('materialize')
      .description('copy the latest features in [start, end] into the online store')
      .requiredOption('--start <time>', 'ISO-8601 start (inclusive)')
      .requiredOption('--end <time>', 'ISO-8601 end (inclusive)')
      .option('--views <names>', 'comma-separated views (default: all online views)', list),
    (io, opts: { start: string; end: string; views?: string[] }) =>
      withStore(io, async (store) => {
        const { toEpochMs } = await loadFeatures();
        const views = await store.materialize({
          start: toEpochMs(opts.start, '--start'),
          end: toEpochMs(opts.end, '--end'),
          views: opts.views,
          progress: io.progress,
        });
        io.emit({ views }, summaries);
      }),
  );

  action(
    features
      .command('materialize-incremental')
      .description('materialize each online view from where it stopped up to end')
      .requiredOption('--end <time>', 'ISO-8601 end (inclusive)')
      .option('--views <names>', 'comma-separated views (default: all online views)', list),
    (io, opts: { end: string; views?: string[] }) =>
      withStore(io, async (store) => {
        const { toEpochMs } = await loadFeatures();
        const views = await store.materializeIncremental({
          end: toEpochMs(opts.end, '--end'),
          views: opts.views,
          progress: io.progress,
        });
        io.emit({ views }, summaries);
      }),
  );

  action(
    features
      .command('get-online')
      .description('read online features for entities')
      .option('--features <refs>', 'comma-separated view:feature refs', list)
      .option('--feature-service <name>', 'a feature service instead of --features')
      .requiredOption(
        '--entity <key=value>',
        'a join key value, repeatable (also request fields)',
        repeatOption,
      )
      .option('--full-feature-names', 'name features view__feature')
      .option('--at <time>', 'judge max age as of this ISO-8601 time instead of now (replays, demos)'),
    async (io, opts: OnlineOptions) => {
      const { toEpochMs, feastOnlineJson } = await loadFeatures();
      const at = opts.at === undefined ? undefined : toEpochMs(opts.at, '--at');
      return withStore(
        io,
        async (store) => {
          const wanted = selection(opts);
          const response = await store.getOnlineFeatures({
            ...wanted,
            entities: await store.entitiesFromText(wanted, entityText(opts.entity)),
            fullFeatureNames: opts.fullFeatureNames,
          });
          // --json prints what the HTTP route answers (Feast's snake_case shape).
          await emitExact(io, feastOnlineJson(response), () =>
            response.featureNames
              .map(
                (name, c) =>
                  `${name}: ${response.results[c].values.map((v, i) => `${v ?? '∅'} (${response.results[c].statuses[i]})`).join(', ')}`,
              )
              .join('\n'),
          );
        },
        at,
      );
    },
  );
}
