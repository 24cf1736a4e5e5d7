/**
 * @module cli/commands/deploy
 * `keel init --ci github` (the CI/CD workflow) and `keel probe` (the integration test of a deployed
 * `keel serve`, which that workflow runs against staging and production).
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { KeelError } from '../../core/index.js';
import { action, parseNumberOption } from '../io.js';

type DeployModule = typeof import('../../deploy/index.js');
const loadDeploy = (): Promise<DeployModule> => import('../../deploy/index.js');

interface InitFlags {
  ci: string;
  force?: boolean;
  json?: boolean;
  model?: string;
  dataset?: string;
  data?: string;
  schema?: string;
  modelFile?: string;
  evalData?: string;
  thresholds?: string;
  probeData?: string;
  nodeVersion?: string;
}

interface ProbeFlags {
  model: string;
  version?: string;
  data: string;
  wait: number;
  interval: number;
}

export function registerDeployCommands(program: Command): void {
  action(
    program
      .command('init')
      .description('set up CI/CD for this project: --ci github writes .github/workflows/keel.yml')
      .requiredOption('--ci <provider>', 'the CI system: github')
      .option('--model <name>', 'the registered model (default: model)')
      .option('--dataset <name>', 'the dataset keel ingest validates into (default: training)')
      .option('--data <paths>', 'the data files, space-separated paths or globs (default: data/*.csv)')
      .option('--schema <file>', 'the ingest schema (default: schema.yaml)')
      .option('--model-file <file>', 'the ONNX file the pipeline writes (default: model.onnx)')
      .option('--eval-data <file>', 'labelled data for keel evaluate (default: data/test.csv)')
      .option(
        '--thresholds <file>',
        'metric bounds for keel evaluate --thresholds (default: thresholds.yaml)',
      )
      .option('--probe-data <file>', 'an MLflow scoring request (JSON) for keel probe (default: probe.json)')
      .option('--node-version <version>', 'the Node version the jobs install (default: 20)')
      .option('--force', 'replace a workflow already there'),
    async (io, flags: InitFlags) => {
      const { initProject } = await loadDeploy();
      const { ci, force, json: _json, ...given } = flags;
      const settings = Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined));
      // The project root is the working directory, as for keel.yaml; init reads no configuration.
      const result = initProject(process.cwd(), { ci: ci as 'github', force, settings });
      io.emit(result, (r) =>
        [
          ...r.written.map((f) => `wrote ${f}`),
          ...(r.missing.length
            ? [`the workflow names files this project lacks yet: ${r.missing.join(', ')}`]
            : []),
        ].join('\n'),
      );
    },
  );

  action(
    program
      .command('probe')
      .description(
        "test a running keel serve: wait until /ready reports the model (at --version), then score --data through /invocations and check each row's prediction",
      )
      .argument('<url>', 'the server, e.g. https://keel-staging.example')
      .requiredOption('--model <name>', 'the served model')
      .option(
        '--version <version>',
        'the version it must serve (a deploy reaches replicas within their refresh interval)',
      )
      .requiredOption(
        '--data <file>',
        'an MLflow scoring request (JSON: dataframe_split, dataframe_records, instances or inputs)',
      )
      .option(
        '--wait <seconds>',
        'how long the endpoint has to serve the version',
        parseNumberOption('--wait'),
        120,
      )
      .option('--interval <seconds>', 'between two readiness checks', parseNumberOption('--interval'), 1),
    async (io, url: string, flags: ProbeFlags) => {
      const { probeEndpoint } = await loadDeploy();
      let body: string;
      try {
        body = readFileSync(flags.data, 'utf8');
      } catch (err) {
        throw new KeelError(
          'RESOURCE_DOES_NOT_EXIST',
          `cannot read --data ${flags.data}: ${(err as Error).message}`,
        );
      }
      if (flags.wait < 0 || flags.interval <= 0) {
        throw new KeelError('INVALID_PARAMETER_VALUE', '--wait must be >= 0 and --interval > 0');
      }
      const result = await probeEndpoint({
        url,
        model: flags.model,
        version: flags.version,
        body,
        token: process.env.KEEL_TOKEN || undefined,
        waitMs: flags.wait * 1000,
        intervalMs: flags.interval * 1000,
      });
      io.emit(
        result,
        (r) => `${r.url} serves ${r.model} version ${r.version}: ${r.rows} rows scored through /invocations`,
      );
    },
  );
}
