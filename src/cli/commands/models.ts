/**
 * @module cli/commands/models
 * `keel models list | show | register | alias | promote | approve | requests | rollback | audit |
 * benchmark | quantize` and `keel tokens create`. Commands act on the configured store as the user of `KEEL_TOKEN`
 * when it is set, otherwise as the local OS user with admin rights.
 */
import type { Command } from 'commander';
import { isKeelError, type KeelConfig, KeelError } from '../../core/index.js';
import type { PromotionResult, QuantizeVersionResult, Registry } from '../../registry/index.js';
import { action, type CommandIO, type CsvFlags, csvFlags, csvOptionsFrom, parseNumberOption } from '../io.js';
import { formatTable, formatTime } from '../table.js';

type RegistryModule = typeof import('../../registry/index.js');

// The registry loads on use, so other commands do not pay for it at startup.
const loadRegistry = (): Promise<RegistryModule> => import('../../registry/index.js');

async function withRegistry<T>(config: KeelConfig, fn: (r: Registry) => Promise<T>): Promise<T> {
  const { Registry } = await loadRegistry();
  const registry = await Registry.open(config);
  try {
    const token = process.env.KEEL_TOKEN;
    return await fn(token ? registry.as(await registry.tokens.authenticate(token)) : registry);
  } finally {
    await registry.close();
  }
}

async function emitPromotion(io: CommandIO, result: PromotionResult): Promise<void> {
  const { formatGates } = await loadRegistry();
  io.emit(result, (r) => promotionText(r, formatGates(r.gates)));
}

function promotionText(r: PromotionResult, gates: string): string {
  const subject = r.alias
    ? `${r.name}@${r.alias} -> version ${r.version}${r.from !== r.to ? ` (${r.from} -> ${r.to})` : ''}`
    : `${r.name} version ${r.version}`;
  const head =
    r.status === 'promoted'
      ? r.alias
        ? subject
        : `${subject}: ${r.from} -> ${r.to}`
      : `${subject}: waiting for approval (request ${r.request_id}; approve with: keel models approve ${r.request_id})`;
  return r.gates.length ? `${head}\n${gates}` : head;
}

function registerQueries(models: Command): void {
  action(
    models
      .command('list')
      .description('list registered models')
      .option('-f, --filter <filter>', 'e.g. "name LIKE \'%churn%\'"'),
    async (io, opts: { filter?: string }) => {
      const page = await withRegistry(io.config, (r) =>
        r.models.search({ filter: opts.filter, maxResults: 1000 }),
      );
      io.emit(page.items, (items) =>
        formatTable(
          ['NAME', 'LATEST', 'PRODUCTION', 'ALIASES', 'UPDATED'],
          items.map((m) => [
            m.name,
            m.latest_versions
              .map((v) => Number(v.version))
              .reduce((a, b) => Math.max(a, b), 0)
              .toString(),
            m.latest_versions.find((v) => v.current_stage === 'Production')?.version ?? '',
            m.aliases.map((a) => `${a.alias}=${a.version}`).join(' '),
            formatTime(m.last_updated_timestamp),
          ]),
        ),
      );
    },
  );
  action(
    models
      .command('show')
      .description(
        'show a model, or one version with its package and the input columns a serving client feeds (names, types, categories)',
      )
      .argument('<name>')
      .argument('[version]'),
    async (io, name: string, version?: string) => {
      if (version === undefined) {
        const model = await withRegistry(io.config, async (r) => {
          const found = await r.models.get(name);
          const escaped = name.replaceAll("'", "''");
          const versions = await r.versions.search({
            filter: `name = '${escaped}'`,
            orderBy: ['version_number DESC'],
            maxResults: 200_000,
          });
          return { ...found, versions: versions.items };
        });
        io.emit(model, (m) =>
          [
            `${m.name}${m.description ? `: ${m.description}` : ''}`,
            formatTable(
              ['VERSION', 'STAGE', 'ALIASES', 'CREATED', 'BY', 'RUN'],
              m.versions.map((v) => [
                v.version,
                v.current_stage,
                v.aliases.map((a) => `@${a}`).join(' '),
                formatTime(v.creation_timestamp),
                v.user_id,
                v.run_id,
              ]),
            ),
            ...m.aliases.map((a) => `@${a.alias} -> ${a.version}`),
          ].join('\n'),
        );
        return;
      }
      const { inputColumns, formatColumns } = await import('../../serving/index.js');
      const { readOnnxSignature } = await import('../../ml/index.js');
      const { SERVING_REFUSED_TAG } = await import('../../registry/index.js');
      const shown = await withRegistry(io.config, async (r) => {
        const found = await r.versions.get(name, version);
        const pkg = await r.versions.getPackage(name, version);
        if (!pkg.servable) return { ...found, package: pkg, columns: undefined, width: undefined };
        // The columns a serving client feeds, as OIP metadata names them.
        const { modelFile } = await r.resolveModelUri(`models:/${name}/${found.version}`);
        const shape = pkg.signature.inputs[0]?.shape;
        const width = shape?.length === 2 && typeof shape[1] === 'number' ? shape[1] : undefined;
        const columns = inputColumns(readOnnxSignature(modelFile).metadata, pkg.features, width);
        return { ...found, package: pkg, columns, width };
      });
      io.emit(shown, (v) =>
        [
          `${v.name} version ${v.version} [${v.current_stage}] by ${v.user_id}, ${formatTime(v.creation_timestamp)}`,
          `source: ${v.source}`,
          `files: mlflow-artifacts:/${v.package.folder}${v.package.flavors.length ? ` (MLmodel flavors: ${v.package.flavors.join(', ')})` : ''}`,
          v.package.servable
            ? `servable: yes (${v.package.model_path?.slice(v.package.folder.length + 1)})`
            : `servable: no: ${v.package.not_servable}`,
          ...v.tags.filter((t) => t.key === SERVING_REFUSED_TAG).map((t) => `serving refused: ${t.value}`),
          ...(v.columns
            ? [
                `inputs: ${v.package.signature.inputs.map((t) => `${t.name} ${t.type}[${t.shape.join(',')}]`).join(', ')}`,
                formatColumns(v.columns, v.width),
                `outputs: ${v.package.signature.outputs.map((t) => `${t.name} ${t.type}[${t.shape.join(',')}]`).join(', ')}`,
              ]
            : []),
          `lineage: ${JSON.stringify(v.package.lineage)}`,
          v.package.benchmark
            ? `latency: p50 ${v.package.benchmark.p50_ms} ms, p99 ${v.package.benchmark.p99_ms} ms`
            : 'latency: not measured',
          v.aliases.length ? `aliases: ${v.aliases.join(', ')}` : '',
        ]
          .filter(Boolean)
          .join('\n'),
      );
    },
  );
  action(
    models.command('audit').description("a model's audit log, oldest first").argument('<name>'),
    async (io, name: string) => {
      const entries = await withRegistry(io.config, (r) => r.audit.list(name));
      io.emit(entries, (list) =>
        formatTable(
          ['WHEN', 'WHO', 'ACTION', 'OUTCOME', 'VERSION', 'FROM', 'TO', 'REASON'],
          list.map((e) => [
            formatTime(e.ts),
            e.actor,
            e.action,
            e.outcome,
            e.version ?? '',
            e.from ?? '',
            e.to ?? '',
            e.reason,
          ]),
        ),
      );
    },
  );
  action(
    models.command('requests').description('promotion requests waiting for approval').argument('[name]'),
    async (io, name?: string) => {
      const list = await withRegistry(io.config, (r) => r.promotions.requests(name, 'pending'));
      io.emit(list, (items) =>
        formatTable(
          ['ID', 'MODEL', 'VERSION', 'TO', 'BY', 'WHEN'],
          items.map((q) => [
            String(q.id),
            q.name,
            q.version,
            q.alias ? `@${q.alias}` : (q.to_stage ?? ''),
            q.requested_by,
            formatTime(q.requested_at),
          ]),
        ),
      );
    },
  );
}

function registerChanges(models: Command): void {
  action(
    models
      .command('register')
      .description(
        'register a model as a new version (creates the model when missing): an MLflow model folder of any flavor, or an ONNX file; whether Keel can serve it is shown by models show',
      )
      .argument('<name>')
      .argument(
        '<source>',
        'runs:/<run_id>/<path>, models:/m-<logged model id>, mlflow-artifacts:/<path>, an MLflow model folder or an .onnx file',
      )
      .option('--run-id <id>', 'the training run, for lineage')
      .option('--feature <ref...>', 'feature references the model needs (view:feature)')
      .option('-d, --description <text>', 'description'),
    async (
      io: CommandIO,
      name: string,
      source: string,
      opts: { runId?: string; feature?: string[]; description?: string },
    ) => {
      const created = await withRegistry(io.config, async (r) => {
        const exists = await r.models.get(name).then(
          () => true,
          (err) => (isKeelError(err, 'RESOURCE_DOES_NOT_EXIST') ? false : Promise.reject(err)),
        );
        if (!exists) await r.models.create(name);
        const version = await r.versions.create({
          name,
          source,
          runId: opts.runId,
          features: opts.feature,
          description: opts.description,
        });
        // A version Keel cannot serve has no scores to profile: monitoring starts with the ONNX one.
        if (taggedNotServable(version)) return { ...version, profiled: false };
        // Monitoring's reference profile, while the run's training data is at hand.
        const { Monitoring } = await import('../../monitoring/index.js');
        const monitoring = await Monitoring.open(io.config, { registry: r });
        const profile = await monitoring.profileIfData(name, version.version);
        return { ...version, profiled: profile !== undefined };
      });
      io.emit(created, (v) =>
        [
          `registered ${v.name} version ${v.version}`,
          v.profiled
            ? 'reference profile stored from the run’s training data'
            : taggedNotServable(v)
              ? 'not servable by Keel (see keel models show): no reference profile'
              : 'no training data found for a reference profile: monitoring builds it on first use (or `keel monitor profile <model> <version> --data <file>`)',
        ].join('\n'),
      );
    },
  );
  action(
    models
      .command('alias')
      .description(
        'point an alias at a version (models:/name@alias) through the gates the policy gives it, or --delete it; champion moves the version to Production',
      )
      .argument('<name>')
      .argument('<alias>')
      .argument('[version]', 'the version to point it at (not with --delete)')
      .option('--delete', 'remove the alias (removing champion archives the Production version)')
      .option('--override', 'apply despite failed gates (admin only, needs --reason)')
      .option('--reason <text>', 'why: required with --override, recorded in the audit log'),
    async (
      io,
      name: string,
      alias: string,
      version: string | undefined,
      opts: { delete?: boolean; override?: boolean; reason?: string },
    ) => {
      if (Boolean(opts.delete) === (version !== undefined)) {
        throw new KeelError(
          'INVALID_PARAMETER_VALUE',
          opts.delete
            ? 'give no version with --delete'
            : `give the version @${alias} should name, or --delete`,
        );
      }
      if (opts.delete) {
        await withRegistry(io.config, (r) => r.deleteAlias(name, alias));
        io.emit({ name, alias, version: null }, () => `${name}@${alias} deleted`);
        return;
      }
      const result = await withRegistry(io.config, (r) =>
        r.setAlias(name, alias, version as string, { override: opts.override, reason: opts.reason }),
      );
      await emitPromotion(io, result);
    },
  );
  action(
    models
      .command('promote')
      .description('move a version to a stage through its gates (exit 7 when a gate fails)')
      .argument('<name>')
      .argument('<version>')
      .requiredOption('--to <stage>', 'None, Staging, Production or Archived')
      .option('--keep-existing', 'do not archive the versions now in that stage')
      .option('--override', 'apply despite failed gates (admin only, needs --reason)')
      .option('--reason <text>', 'why: required with --override, recorded in the audit log'),
    async (
      io,
      name: string,
      version: string,
      opts: { to: string; keepExisting?: boolean; override?: boolean; reason?: string },
    ) => {
      const result = await withRegistry(io.config, (r) =>
        r.promote(name, version, opts.to, {
          archiveExisting: opts.keepExisting ? false : undefined,
          override: opts.override,
          reason: opts.reason,
        }),
      );
      await emitPromotion(io, result);
    },
  );
  action(
    models
      .command('approve')
      .description('approve a promotion request (approver role, not the requester)')
      .argument('<request-id>', 'from `keel models requests`', parseNumberOption('request id', true))
      .option('--reason <text>', 'recorded in the audit log'),
    async (io, id: number, opts: { reason?: string }) => {
      await emitPromotion(io, await withRegistry(io.config, (r) => r.approve(id, opts.reason)));
    },
  );
  action(
    models
      .command('rollback')
      .description('put the previous Production version back, in one step')
      .argument('<name>')
      .option('--reason <text>', 'recorded in the audit log'),
    async (io, name: string, opts: { reason?: string }) => {
      const r = await withRegistry(io.config, (reg) => reg.rollback(name, opts.reason));
      io.emit(r, (x) => `${x.name}: Production is version ${x.to} again (version ${x.from} archived)`);
    },
  );
  action(
    models
      .command('benchmark')
      .description("measure a version's ONNX Runtime latency and store it for the latency gate")
      .argument('<name>')
      .argument('<version>')
      .option('--batch-size <n>', 'rows per call', parseNumberOption('--batch-size', true), 1)
      .option('--iterations <n>', 'timed calls', parseNumberOption('--iterations', true), 200),
    async (io, name: string, version: string, opts: { batchSize: number; iterations: number }) => {
      const result = await withRegistry(io.config, (r) =>
        r.benchmark(name, version, {
          batchSize: opts.batchSize,
          iterations: opts.iterations,
          onProgress: io.progress,
        }),
      );
      io.emit(
        result,
        (b) =>
          `${name} version ${version}: p50 ${b.p50_ms} ms, p99 ${b.p99_ms} ms (batch ${b.batch_size}, ${b.iterations} calls)`,
      );
    },
  );
}

function quantizeText(r: QuantizeVersionResult): string {
  const e = r.evaluation;
  const metric = (m: Record<string, number | null>, k: string) =>
    m[k] == null ? 'n/a' : (m[k] as number).toFixed(4);
  const key = e.task === 'binary' ? 'roc_auc' : 'rmse';
  return [
    `registered ${r.name} version ${r.version}: ${r.method} of version ${r.from_version} (${r.quantized_nodes} MatMul/Gemm, ${r.int8_weights} weights as int8)`,
    `  size: ${r.int8_bytes} bytes from ${r.fp32_bytes} (${(r.size_ratio * 100).toFixed(1)}%)`,
    `  on ${e.rows} rows of ${e.data} (${e.data_from} data): ${key} ${metric(e.int8, key)} INT8, ${metric(e.fp32, key)} FP32; scores within ${e.max_score_diff.toPrecision(3)} (mean ${e.mean_score_diff.toPrecision(3)})${e.label_agreement === undefined ? '' : `, ${(e.label_agreement * 100).toFixed(2)}% of labels agree`}`,
    `  evidence for gates in run ${r.run_id}: quantization_max_score_diff, quantization_${key}_delta and ${Object.keys(r.metrics).filter((k) => k.startsWith('quantization_')).length - 2} more quantization_* metrics`,
  ].join('\n');
}

function registerQuantize(models: Command): void {
  action(
    csvFlags(
      models
        .command('quantize')
        .description(
          'register an INT8 version of a MatMul/Gemm model (linear, MLP) made by dynamic quantization, with its accuracy change against the FP32 version as evidence for the gates; trees stay FP32',
        )
        .argument('<name>')
        .argument('<version>', 'the FP32 version to quantize')
        .option(
          '--data <file>',
          "labelled CSV or Parquet to measure on (default: the evaluation, else training, data the version's run names)",
        )
        .option('--target <column>', 'label column (default: the one recorded in the model)')
        .option(
          '--features <columns>',
          'comma-separated input columns, in order (default: recorded in the model)',
        )
        .option('--positive-label <value>', 'value of a text target that means class 1')
        .option('--per-channel', 'one weight scale per output column instead of one per matrix')
        .option(
          '--full-range',
          "8-bit weights instead of 7: only for CPUs with VNNI (or ARM), where ONNX Runtime's int8 kernels cannot saturate",
        )
        .option('-d, --description <text>', "the new version's description"),
    ),
    async (
      io,
      name: string,
      version: string,
      opts: {
        data?: string;
        target?: string;
        features?: string;
        positiveLabel?: string;
        perChannel?: boolean;
        fullRange?: boolean;
        description?: string;
      } & CsvFlags,
    ) => {
      const { quantizeVersion } = await loadRegistry();
      const result = await withRegistry(io.config, (r) =>
        quantizeVersion(r, name, version, {
          data: opts.data,
          target: opts.target,
          features: opts.features
            ?.split(',')
            .map((s) => s.trim())
            .filter(Boolean),
          positiveLabel: opts.positiveLabel,
          perChannel: opts.perChannel,
          reduceRange: !opts.fullRange,
          description: opts.description,
          csv: csvOptionsFrom(opts),
          root: io.config.root,
          onProgress: io.progress,
        }),
      );
      io.emit(result, quantizeText);
    },
  );
}

export function registerModelCommands(program: Command): void {
  const models = program
    .command('models')
    .description('the model registry: versions, stages, gates, approvals');
  registerQueries(models);
  registerChanges(models);
  registerQuantize(models);

  const tokens = program.command('tokens').description('API tokens for keel serve --auth');
  action(
    tokens
      .command('create')
      .description('create an API token (printed once; only its hash is stored)')
      .requiredOption('--user <name>', 'who the token acts as')
      .requiredOption('--role <role>', 'reader, writer, approver or admin'),
    async (io, opts: { user: string; role: string }) => {
      const created = await withRegistry(io.config, async (r) => {
        (await loadRegistry()).requirePermission(r.actor, 'override', 'create API tokens');
        return r.tokens.create(opts.user, opts.role);
      });
      io.emit(
        created,
        (t) => `${t.token}\n(token for ${t.user} as ${t.role}: store it now, it is not shown again)`,
      );
    },
  );
}

/** Whether registration tagged the version as one Keel cannot serve (`keel.servable=false`). */
function taggedNotServable(version: { tags?: { key: string; value: string }[] }): boolean {
  return version.tags?.some((t) => t.key === 'keel.servable' && t.value === 'false') ?? false;
}
