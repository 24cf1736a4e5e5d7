/**
 * @module cli/commands/pipeline
 * DVC-compatible pipeline verbs: repro, status, dag, params diff, metrics show|diff, plots show,
 * checkout, gc. Each opens the project at `--cwd` (default: the working directory) and calls
 * src/pipeline, loaded only when one of these commands runs. Output follows DVC's: `status`,
 * `metrics` and `params` print DVC's text and, with `--json`, DVC's JSON (Python's formatting).
 */
import type { Command } from 'commander';
import type { GcOptions, Workspace } from '../../pipeline/index.js';
import { action, type CommandIO, parseNumberOption } from '../io.js';
import { stageEnvironment } from '../stage-env.js';
import { type TrackOptions, trackOptions, withTrackingClient } from '../tracked.js';

interface CwdOption {
  cwd?: string;
}

const pipeline = () => import('../../pipeline/index.js');

async function withWorkspace<T>(
  io: CommandIO,
  opts: CwdOption,
  fn: (ws: Workspace) => Promise<T> | T,
): Promise<T> {
  const { Workspace } = await pipeline();
  const ws = Workspace.open(opts.cwd ?? process.cwd(), { progress: io.progress, cwd: process.cwd() });
  try {
    return await fn(ws);
  } finally {
    await ws.close();
  }
}

/** Prints a value as DVC's `--json` does (Python's json.dumps, one line). */
async function writePyJson(value: import('../../pipeline/index.js').PyValue): Promise<void> {
  const { pyJsonDumps } = await pipeline();
  process.stdout.write(`${pyJsonDumps(value)}\n`);
}

/** Prints text as DVC's `ui.write` does: with a newline after it (nothing for no text). */
function writeText(text: string): void {
  if (text) process.stdout.write(`${text}\n`);
}

function registerRepro(program: Command): void {
  const cmd = program
    .command('repro [targets...]')
    .description('reproduce the pipeline in dvc.yaml: run the stages that changed, in DAG order')
    .option('-f, --force', 'run every selected stage, even unchanged ones')
    .option('--dry', 'show what would run, run nothing')
    .option('-j, --jobs <n>', 'run up to n independent stages at once', parseNumberOption('--jobs', true), 1)
    .option('-k, --keep-going', 'after a failure, go on with the stages that do not depend on it')
    .option('--cwd <dir>', 'the project root (the folder holding dvc.yaml)');
  action(
    trackOptions(cmd, 'pipeline'),
    async (
      io,
      targets: string[],
      opts: CwdOption & TrackOptions & { force?: boolean; dry?: boolean; jobs: number; keepGoing?: boolean },
    ) => {
      const { loadConfig } = await import('../../core/index.js');
      const { repro } = await pipeline();
      const note = (line: string) => {
        if (io.json) return;
        (line.startsWith('WARNING:') ? process.stderr : process.stdout).write(`${line}\n`);
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
          withWorkspace(io, opts, (ws) =>
            repro(ws, {
              tracking,
              experiment: opts.experiment,
              targets,
              force: opts.force,
              dry: opts.dry,
              jobs: opts.jobs,
              keepGoing: opts.keepGoing,
              progress: io.progress,
              signal: controller.signal,
              note,
              onOutput: io.json ? undefined : (_stage, chunk, stream) => process[stream].write(chunk),
              env: stageEnvironment(config.home),
            }),
          ),
      ).finally(() => {
        process.off('SIGINT', abort);
        process.off('SIGTERM', abort);
      });
      io.emit(result, (r) => {
        const lines: string[] = [];
        if (opts.dry)
          for (const s of r.stages) if (s.status === 'would-run') lines.push(`Would run stage '${s.stage}'`);
        if (!r.stages.some((s) => ['ran', 'restored', 'verified', 'would-run'].includes(s.status)))
          lines.push('Data and pipelines are up to date.');
        if (r.runId) lines.push(`Recorded as tracking run ${r.runId}`);
        return lines.join('\n');
      });
    },
  );
}

function registerStatus(program: Command): void {
  const status = program
    .command('status [targets...]')
    .description('show which stages changed since dvc.lock, and why')
    .option('--with-deps', 'with targets: their upstream stages too')
    .option('-q, --quiet', 'print nothing; exit 1 when something changed')
    .option('--cwd <dir>', 'the project root');
  action(status, async (io, targets: string[], opts: CwdOption & { withDeps?: boolean; quiet?: boolean }) => {
    const { collectTargets, fromJs, pipelineStatus, selectStages } = await pipeline();
    const result = await withWorkspace(io, opts, (ws) => {
      const stages = targets.length
        ? opts.withDeps
          ? selectStages(ws.project, ws.dag, targets)
          : collectTargets(ws.project, targets)
        : ws.project.stages;
      for (const s of stages) {
        if (s.frozen && !io.json) {
          process.stderr.write(
            `WARNING: stage: '${s.name}' is frozen. Its dependencies are not going to be shown in the status output.\n`,
          );
        }
      }
      return pipelineStatus(ws, stages);
    });
    if (io.json) {
      await writePyJson(fromJs(result));
      return;
    }
    if (opts.quiet) {
      if (Object.keys(result).length) process.exitCode = 1;
      return;
    }
    if (Object.keys(result).length === 0) {
      writeText('Data and pipelines are up to date.');
      return;
    }
    const lines: string[] = [];
    const show = (value: unknown, indent: number) => {
      const ind = '\t'.repeat(indent);
      if (typeof value === 'string') lines.push(`${ind}${value}`);
      else if (Array.isArray(value)) for (const v of value) show(v, indent);
      else {
        for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
          if (typeof v === 'string') lines.push(`${ind}${`${v}:`.padEnd(20)}${k}`);
          else if (v) {
            lines.push(`${ind}${k}:`);
            show(v, indent + 1);
          }
        }
      }
    };
    show(result, 0);
    writeText(lines.join('\n'));
  });
}

function registerDag(program: Command): void {
  const dag = program
    .command('dag [target]')
    .description('show the stage graph (text, Mermaid with --mermaid/--md, DOT with --dot)')
    .option('--dot', 'print the graph in DOT format')
    .option('--mermaid', 'print a Mermaid flowchart')
    .option('--md', 'print a Mermaid flowchart in a Markdown code block')
    .option('-o, --outs', 'show outputs instead of stages')
    .option('--full', 'with a target: its whole pipeline, not only what it depends on')
    .option('--cwd <dir>', 'the project root');
  action(
    dag,
    async (
      io,
      target: string | undefined,
      opts: CwdOption & { dot?: boolean; mermaid?: boolean; md?: boolean; outs?: boolean; full?: boolean },
    ) => {
      const { collectTargets, dfsPostorder, filterGraph, printGraph, renderDot, renderMermaid, renderText } =
        await pipeline();
      const result = await withWorkspace(io, opts, (ws) => {
        const graph = printGraph(ws.project, ws.dag, (s, p) => ws.display(ws.abs(s, p)), opts.outs);
        let targets: string[] = [];
        if (target) {
          const stages = collectTargets(ws.project, [target]);
          targets = opts.outs
            ? stages.flatMap((s) => s.outs.map((o) => ws.display(ws.abs(s, o.path))))
            : stages.map((s) => s.name);
        }
        let shown = opts.full ? graph : filterGraph(graph, targets);
        if (opts.full && targets.length) {
          const neighbours = (n: string) =>
            graph.edges.flatMap(([a, b]) => (a === n ? [b] : b === n ? [a] : []));
          const part = new Set(dfsPostorder(targets, neighbours));
          shown = {
            nodes: graph.nodes.filter((n) => part.has(n)),
            edges: graph.edges.filter(([a]) => part.has(a)),
          };
        }
        return {
          nodes: shown.nodes,
          edges: shown.edges,
          text: opts.dot
            ? renderDot(shown)
            : opts.mermaid || opts.md
              ? renderMermaid(shown, opts.md)
              : renderText(shown),
        };
      });
      if (io.json) io.emit(result);
      else writeText(result.text);
    },
  );
}

function registerDiffs(program: Command): void {
  const params = program.command('params').description('pipeline parameters');
  action(
    params
      .command('diff [a_rev] [b_rev]')
      .description('compare params between two commits, or a commit (default HEAD) and the workspace')
      .option('--all', 'list unchanged params too')
      .option('--md', 'print a Markdown table')
      .option('--no-path', 'leave out the params file path')
      .option('--cwd <dir>', 'the project root'),
    async (
      io,
      aRev: string | undefined,
      bRev: string | undefined,
      opts: CwdOption & { all?: boolean; md?: boolean; path: boolean },
    ) => {
      const { diffParams, diffTable, diffToPy } = await pipeline();
      const root = opts.cwd ?? process.cwd();
      const diff = diffParams(root, aRev, bRev, opts.all);
      if (io.json) return writePyJson(diffToPy(diff));
      writeText(
        dropPath(
          diffTable(diff, { title: 'Param', aRev, bRev, markdown: opts.md, changes: false }),
          opts.path,
          opts.md,
        ),
      );
    },
  );
  const metrics = program.command('metrics').description('pipeline metrics files');
  action(
    metrics
      .command('show')
      .description('show the metrics files')
      .option('--md', 'print a Markdown table')
      .option(
        '--precision <n>',
        'round to n digits after the point (default 5)',
        parseNumberOption('--precision', true),
      )
      .option('--cwd <dir>', 'the project root'),
    async (io, opts: CwdOption & { md?: boolean; precision?: number }) => {
      const { filesToPy, metricsTable, showMetrics } = await pipeline();
      const root = opts.cwd ?? process.cwd();
      const data = showMetrics(root, `${root}/.keel`);
      if (io.json) return writePyJson(filesToPy(data));
      writeText(metricsTable(data, opts.md, opts.precision || 5));
    },
  );
  action(
    metrics
      .command('diff [a_rev] [b_rev]')
      .description('compare metrics between two commits, or a commit (default HEAD) and the workspace')
      .option('--all', 'list unchanged metrics too')
      .option('--md', 'print a Markdown table')
      .option('--no-path', 'leave out the metrics file path')
      .option(
        '--precision <n>',
        'round to n digits after the point (default 5)',
        parseNumberOption('--precision', true),
      )
      .option('--cwd <dir>', 'the project root'),
    async (
      io,
      aRev: string | undefined,
      bRev: string | undefined,
      opts: CwdOption & { all?: boolean; md?: boolean; path: boolean; precision?: number },
    ) => {
      const { diffMetrics, diffTable, diffToPy } = await pipeline();
      const root = opts.cwd ?? process.cwd();
      const diff = diffMetrics(root, `${root}/.keel`, aRev, bRev, opts.all);
      if (io.json) return writePyJson(diffToPy(diff));
      writeText(
        dropPath(
          diffTable(diff, { title: 'Metric', aRev, bRev, markdown: opts.md, precision: opts.precision || 5 }),
          opts.path,
          opts.md,
        ),
      );
    },
  );
  const plots = program.command('plots').description('pipeline plots');
  action(
    plots
      .command('show')
      .description('render the plots files to one HTML page (Vega-Lite, works offline)')
      .option('-o, --out <dir>', 'the folder for index.html (default dvc_plots)')
      .option('--cwd <dir>', 'the project root'),
    async (io, opts: CwdOption & { out?: string }) => {
      const { showPlots } = await pipeline();
      const result = await withWorkspace(io, opts, (ws) => showPlots(ws.project, opts.out));
      io.emit(
        result,
        (r) => `file://${r.path}${r.missing.length ? `\n(missing: ${r.missing.join(', ')})` : ''}`,
      );
    },
  );
}

/** `--no-path`: the table without its first column. */
function dropPath(table: string, keepPath: boolean, markdown?: boolean): string {
  if (keepPath || !table) return table;
  const lines = table.replace(/\n$/, '').split('\n');
  if (markdown) return `${lines.map((l) => `|${l.split('|').slice(2).join('|')}`).join('\n')}\n`;
  const width = lines[0].indexOf(lines[0].trim().split(/\s{2,}/)[1] ?? '');
  return lines.map((l) => l.slice(width)).join('\n');
}

function registerCache(program: Command): void {
  action(
    program
      .command('checkout [targets...]')
      .description('restore cached outputs as dvc.lock records them')
      .option('-f, --force', 'replace or remove files whose content is not in the cache')
      .option('--with-deps', 'with targets: their upstream stages too')
      .option('--cwd <dir>', 'the project root'),
    async (io, targets: string[], opts: CwdOption & { force?: boolean; withDeps?: boolean }) => {
      const { checkout } = await pipeline();
      const result = await withWorkspace(io, opts, (ws) => checkout(ws, targets, opts));
      io.emit(result, (r) =>
        [
          ...r.modified.map((p) => `M       ${p}`),
          ...r.added.map((p) => `A       ${p}`),
          ...r.deleted.map((p) => `D       ${p}`),
        ].join('\n'),
      );
    },
  );
  action(
    program
      .command('gc')
      .description('remove cache objects the selected revisions do not use')
      .option('-w, --workspace', 'keep what the workspace uses')
      .option('-a, --all-branches', 'keep what the tips of all git branches use')
      .option('-T, --all-tags', 'keep what all git tags use')
      .option('-A, --all-commits', 'keep what all git commits use')
      .option('--rev <commit>', 'keep what this commit uses')
      .option('-n, --num <n>', 'with --rev: the last n commits from it', parseNumberOption('--num', true))
      .option('--keep-run-cache', 'keep the objects run-cache entries refer to')
      .option('--dry', 'report what would be removed, remove nothing')
      .option('-f, --force', 'do not ask for confirmation')
      .option('--cwd <dir>', 'the project root'),
    async (io, opts: CwdOption & GcOptions & { force?: boolean }) => {
      const { gc } = await pipeline();
      const { KeelError } = await import('../../core/index.js');
      if (
        !opts.force &&
        !opts.dry &&
        !(await confirm(
          'This will remove all cache except items used in the selected revisions. Are you sure you want to proceed?',
        ))
      ) {
        throw new KeelError(
          'FAILED_PRECONDITION',
          'gc needs confirmation: run it on a terminal or pass -f/--force',
        );
      }
      const result = await withWorkspace(io, opts, (ws) => gc(ws, opts));
      io.emit(result, (r) =>
        opts.dry
          ? [`total ${r.removed} objects, ${r.bytes} bytes would be reclaimed`, ...(r.objects ?? [])].join(
              '\n',
            )
          : r.removed
            ? `Removed ${r.removed} objects (${r.bytes} bytes) from cache, kept ${r.kept}.`
            : 'No unused cache to remove.',
      );
    },
  );
}

/** Asks on a terminal; without one (stdin not a TTY) the answer is no, as DVC's prompt gives. */
async function confirm(question: string): Promise<boolean> {
  if (!process.stdin.isTTY) return false;
  const { createInterface } = await import('node:readline/promises');
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(`${question} [y/n]: `)).trim());
  } finally {
    rl.close();
  }
}

/** Registers repro, status, dag, params diff, metrics show|diff, plots show, checkout and gc. */
export function registerPipelineCommands(program: Command): void {
  registerRepro(program);
  registerStatus(program);
  registerDag(program);
  registerDiffs(program);
  registerCache(program);
}
