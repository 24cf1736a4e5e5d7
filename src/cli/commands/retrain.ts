/**
 * @module cli/commands/retrain
 * - `keel retrain --model M --reason TEXT`: retrain a model now (an event trigger) with its recipe
 *   in keel.yaml, register the result, evaluate its gates and start its canary as the policy
 *   allows; prints the outcome. Exit 7 when a retraining of the model already runs (the trigger is
 *   recorded as skipped), 9 when the recipe fails.
 * - `keel retrain history [--model M]`: every trigger with its cause, evidence, run, version and
 *   gate report.
 */
import type { Command } from 'commander';
import { KeelError } from '../../core/index.js';
import type { Retraining } from '../../monitoring/index.js';
import { action, parseNumberOption } from '../io.js';
import { formatTable, formatTime } from '../table.js';
import { withMonitoring } from './monitor.js';

/** A retraining as a person reads it, the gate reports included. */
export function retrainingText(r: Retraining): string {
  const lines = [
    `retraining ${r.id} of ${r.model} (${r.cause}, by ${r.requestedBy}): ${r.status}${r.error ? `: ${r.error}` : ''}`,
    `  why: ${r.reason}`,
  ];
  const x = r.result;
  if (x.runningId) lines.push(`  deferred to retraining ${x.runningId}, which was running`);
  if (x.runId) lines.push(`  run ${x.runId}`);
  if (x.version)
    lines.push(
      `  registered version ${x.version}${x.profiled === false ? ' (no training data found here for its profile: built on first use)' : ''}`,
    );
  if (x.promotion) {
    lines.push(
      `  ${x.promotion.stage}: ${x.promotion.status}${x.promotion.requestId ? ` (request ${x.promotion.requestId})` : ''}`,
    );
    for (const g of x.promotion.gates)
      lines.push(`    ${g.passed ? 'PASS' : 'FAIL'}  ${g.gate}: ${g.message}`);
  }
  if (x.canary) lines.push(`  canary: alias '${x.canary.alias}' now names version ${x.canary.version}`);
  if (x.productionGates) {
    lines.push('  Production gates (report only):');
    for (const g of x.productionGates)
      lines.push(`    ${g.passed ? 'PASS' : 'FAIL'}  ${g.gate}: ${g.message}`);
  }
  if (x.output && r.status === 'failed') lines.push(`  recipe output:\n${x.output.replace(/^/gm, '    ')}`);
  return lines.join('\n');
}

export function registerRetrainCommands(program: Command): void {
  const retrain = program
    .command('retrain')
    .description('retrain a model now with its recipe in keel.yaml (monitoring.models.<name>.retrain)')
    .option('-m, --model <name>', 'the model to retrain')
    .option('--reason <text>', 'why (kept with the retraining)')
    // `retrain history --json` is the subcommand's flag, not this command's.
    .enablePositionalOptions();
  // The CLI waits for the retraining: its recipe runs as this process's child.
  action(retrain, async (io, opts: { model?: string; reason?: string }) => {
    if (!opts.model)
      throw new KeelError('INVALID_PARAMETER_VALUE', 'give the model to retrain: --model <name>');
    if (!opts.reason?.trim()) throw new KeelError('INVALID_PARAMETER_VALUE', 'say why: --reason <text>');
    const record = await withMonitoring(io.config, (m) =>
      m.retrain(opts.model as string, { reason: (opts.reason as string).trim() }),
    );
    if (record.status === 'skipped')
      throw new KeelError(
        'FAILED_PRECONDITION',
        `a retraining of '${record.model}' is already running (${record.result.runningId}): this trigger is recorded as skipped (${record.id})`,
        { details: { retraining: record } },
      );
    if (record.status === 'failed')
      throw new KeelError(
        'EXECUTION_FAILED',
        `retraining ${record.id} of '${record.model}' failed: ${record.error}`,
        {
          details: { report: retrainingText(record), retraining: record },
        },
      );
    io.emit(record, retrainingText);
  });
  action(
    retrain
      .command('history')
      .description('retraining triggers, newest first: cause, evidence, run, version, gates')
      .option('-m, --model <name>', 'only this model')
      .option('--last <n>', 'how many', parseNumberOption('--last', true), 20),
    async (io, opts: { model?: string; last: number }) => {
      const list = await withMonitoring(io.config, (m) => m.retrainings.history(opts.model, opts.last));
      io.emit(list, (items) =>
        formatTable(
          ['id', 'model', 'cause', 'status', 'started (UTC)', 'run', 'version', 'promotion', 'reason'],
          items.map((r) => [
            String(r.id),
            r.model,
            r.cause,
            r.status,
            formatTime(r.startedAt),
            r.result.runId ?? '',
            r.result.version ?? '',
            r.result.promotion ? `${r.result.promotion.stage} ${r.result.promotion.status}` : '',
            r.reason.length > 60 ? `${r.reason.slice(0, 57)}...` : r.reason,
          ]),
        ),
      );
    },
  );
}
