/**
 * @module cli/commands/pipeline
 * DVC-compatible pipeline verbs: repro, status, dag, params diff, metrics show|diff, plots show,
 * checkout, gc. Each opens the project at `--cwd` (default: the working directory) and calls
 * src/pipeline.
 */
import type { Command } from 'commander';
import { loadConfig } from '../../core/index.js';
import type { Change, ValueDiff, Workspace } from '../../pipeline/index.js';
import { action, type CommandIO, parseNumberOption } from '../io.js';
import { stageEnvironment } from '../stage-env.js';
import { type TrackOptions, trackOptions, withTrackingClient } from '../tracked.js';

interface CwdOption {
  cwd?: string;
}

// The pipeline subsystem loads when a command runs, not when the CLI starts.
const loadPipeline = () => import('../../pipeline/index.js');

async function withWorkspace<T>(
  io: CommandIO,
  opts: CwdOption,
  fn: (ws: Workspace, pipeline: Awaited<ReturnType<typeof loadPipeline>>) => Promise<T> | T,
): Promise<T> {
  const pipeline = await loadPipeline();
  const ws = pipeline.Workspace.open(opts.cwd ?? process.cwd(), { progress: io.progress });
  try {
    return await fn(ws, pipeline);
  } finally {
    await ws.close();
  }
}

const describeChange = (c: Change): string =>
  c.kind === 'cmd'
    ? `changed command (${c.status})`
    : `${c.kind} ${c.status}${c.path ? `: ${c.path}` : ''}${c.key ? ` ${c.key}` : ''}`;

const show = (v: unknown): string => (v === undefined ? '-' : typeof v === 'string' ? v : JSON.stringify(v));

function diffTable(diff: Record<string, Record<string, ValueDiff>>): string {
  const lines = ['Path\tKey\tOld\tNew\tChange'];
  for (const [file, keys] of Object.entries(diff)) {
    for (const [k, d] of Object.entries(keys)) {
      lines.push(
        `${file}\t${k}\t${show(d.old)}\t${show(d.new)}\t${d.diff === undefined ? '-' : +d.diff.toPrecision(6)}`,
      );
    }
  }
  return lines.length === 1 ? 'No changes.' : lines.join('\n');
}

function registerRepro(program: Command): void {
  const cmd = program
    .command('repro [stages...]')
    .description('reproduce the pipeline in dvc.yaml: run the stages that changed, in DAG order')
    .option('-f, --force', 'run every selected stage, even unchanged ones')
    .option('--dry', 'show what would run, run nothing')
    .option('-j, --jobs <n>', 'run up to n independent stages at once', parseNumberOption('--jobs', true), 1)
    .option('--cwd <dir>', 'the project root (the folder holding dvc.yaml)');
  action(
    trackOptions(cmd, 'pipeline'),
    async (
      io,
      stages: string[],
      opts: CwdOption & TrackOptions & { force?: boolean; dry?: boolean; jobs: number },
    ) => {
      let current: string | undefined;
      // Stage output streams as it comes; a header marks each switch between (parallel) stages.
      const echo = (stage: string, chunk: string) => {
        if (stage !== current) process.stdout.write(`Running stage '${stage}':\n`);
        current = stage;
        process.stdout.write(chunk);
      };
      // Ctrl-C or a SIGTERM stops the running stages' process groups; the lock keeps what finished.
      const controller = new AbortController();
      const abort = () => controller.abort();
      process.once('SIGINT', abort);
      process.once('SIGTERM', abort);
      // The run goes to the tracking store of the project being reproduced.
      const config = loadConfig({ cwd: opts.cwd ?? process.cwd() });
      const result = await withTrackingClient(
        config,
        { ...opts, track: opts.track && !opts.dry },
        (tracking) =>
          withWorkspace(io, opts, (ws, { repro }) =>
            repro(ws, {
              tracking,
              experiment: opts.experiment,
              targets: stages,
              force: opts.force,
              dry: opts.dry,
              jobs: opts.jobs,
              progress: io.progress,
              signal: controller.signal,
              onOutput: io.json ? undefined : echo,
              env: stageEnvironment(config.home),
            }),
          ),
      ).finally(() => {
        process.off('SIGINT', abort);
        process.off('SIGTERM', abort);
      });
      io.emit(result, (r) =>
        r.stages
          .map((s) =>
            s.status === 'unchanged'
              ? `Stage '${s.stage}' didn't change, skipped`
              : `Stage '${s.stage}': ${s.status}`,
          )
          .concat(r.runId ? [`Recorded as tracking run ${r.runId}`] : [])
          .join('\n'),
      );
    },
  );
}

function registerInspect(program: Command): void {
  const status = program
    .command('status [stages...]')
    .description('show which stages changed since dvc.lock, and why')
    .option('--cwd <dir>', 'the project root');
  action(status, async (io, stages: string[], opts: CwdOption) => {
    const result = await withWorkspace(io, opts, (ws, { pipelineStatus, selectStages }) =>
      pipelineStatus(ws, selectStages(ws.project, ws.dag, stages)),
    );
    io.emit(result, (r) =>
      r.length === 0
        ? 'Data and pipelines are up to date.'
        : r
            .map((s) => `${s.stage}:${s.changes.map((c) => `\n    ${describeChange(c)}`).join('')}`)
            .join('\n'),
    );
  });

  const dag = program
    .command('dag')
    .description('show the stage graph (text, or Mermaid with --mermaid)')
    .option('--mermaid', 'print a Mermaid flowchart')
    .option('--cwd <dir>', 'the project root');
  action(dag, async (io, opts: CwdOption & { mermaid?: boolean }) => {
    const result = await withWorkspace(io, opts, (ws, { renderDagMermaid, renderDagText }) => ({
      stages: ws.dag.order.map((s) => ({ name: s.name, upstream: ws.dag.upstream.get(s.name) })),
      text: opts.mermaid ? renderDagMermaid(ws.dag) : renderDagText(ws.dag),
    }));
    io.emit(result, (r) => r.text);
  });
}

function registerDiffs(program: Command): void {
  const params = program.command('params').description('pipeline parameters');
  action(
    params
      .command('diff [rev]')
      .description('compare tracked params with a git revision (default HEAD)')
      .option('--all', 'list unchanged params too')
      .option('--cwd <dir>', 'the project root'),
    async (io, rev: string | undefined, opts: CwdOption & { all?: boolean }) => {
      const result = await withWorkspace(io, opts, (ws, { diffParams }) =>
        diffParams(ws.project, rev, opts.all),
      );
      io.emit(result, diffTable);
    },
  );
  const metrics = program.command('metrics').description('pipeline metrics files');
  action(
    metrics
      .command('show')
      .description('show the metrics files')
      .option('--rev <rev>', 'as they were at a git revision')
      .option('--cwd <dir>', 'the project root'),
    async (io, opts: CwdOption & { rev?: string }) => {
      const result = await withWorkspace(io, opts, (ws, { showMetrics }) =>
        showMetrics(ws.project, opts.rev),
      );
      io.emit(result, (r) =>
        Object.entries(r)
          .flatMap(([file, values]) => Object.entries(values).map(([k, v]) => `${file}\t${k}\t${show(v)}`))
          .join('\n'),
      );
    },
  );
  action(
    metrics
      .command('diff [rev]')
      .description('compare metrics with a git revision (default HEAD)')
      .option('--all', 'list unchanged metrics too')
      .option('--cwd <dir>', 'the project root'),
    async (io, rev: string | undefined, opts: CwdOption & { all?: boolean }) => {
      const result = await withWorkspace(io, opts, (ws, { diffMetrics }) =>
        diffMetrics(ws.project, rev, opts.all),
      );
      io.emit(result, diffTable);
    },
  );
  const plots = program.command('plots').description('pipeline plots');
  action(
    plots
      .command('show')
      .description('render the plots files to one HTML page')
      .option('-o, --out <file>', 'the HTML file (default .keel/plots/index.html)')
      .option('--cwd <dir>', 'the project root'),
    async (io, opts: CwdOption & { out?: string }) => {
      const result = await withWorkspace(io, opts, (ws, { showPlots }) => showPlots(ws.project, opts.out));
      io.emit(
        result,
        (r) =>
          `${r.path} (${r.plots.length} plots${r.missing.length ? `; missing: ${r.missing.join(', ')}` : ''})`,
      );
    },
  );
}

function registerCache(program: Command): void {
  action(
    program
      .command('checkout [stages...]')
      .description('restore cached outputs as dvc.lock records them')
      .option('--cwd <dir>', 'the project root'),
    async (io, stages: string[], opts: CwdOption) => {
      const result = await withWorkspace(io, opts, (ws, { checkout }) => checkout(ws, stages));
      io.emit(
        result,
        (r) =>
          r
            .filter((e) => e.action !== 'unchanged')
            .map((e) => `${e.action}\t${e.path}`)
            .join('\n') || 'Nothing to restore.',
      );
    },
  );
  action(
    program
      .command('gc')
      .description('remove cache objects dvc.lock and the run cache no longer use')
      .option('--no-run-cache', 'also drop the run cache and what only it uses')
      .option('--cwd <dir>', 'the project root'),
    async (io, opts: CwdOption & { runCache: boolean }) => {
      const result = await withWorkspace(io, opts, (ws, { gc }) => gc(ws, { runCache: opts.runCache }));
      io.emit(result, (r) => `Removed ${r.removed} objects (${r.bytes} bytes), kept ${r.kept}.`);
    },
  );
}

/** Registers repro, status, dag, params diff, metrics show|diff, plots show, checkout and gc. */
export function registerPipelineCommands(program: Command): void {
  registerRepro(program);
  registerInspect(program);
  registerDiffs(program);
  registerCache(program);
}
