/**
 * @module cli/commands/demo
 * `keel demo [--loop]`: what `npm run demo` runs; `--loop` then replays the later months of the
 * data through a served model, its monitors, alerts and retraining (about a minute more). Each
 * step prints as it finishes; `--json` prints the whole result as one document at the end instead.
 */
import type { Command } from 'commander';
import { action } from '../io.js';

export function registerDemoCommand(program: Command): void {
  action(
    program
      .command('demo')
      .description('the churn use case end to end in .keel/ (embedded stores, no server needed)')
      .option(
        '--loop',
        'then replay the later months through a served model: monitors, alerts, retraining, canary',
      ),
    async (io, opts: { loop?: boolean }) => {
      const { runChurnDemo, runChurnLoop, formatStep, formatLoopEvent, loopSummary } = await import(
        '../../demo/index.js'
      );
      const result = await runChurnDemo(io.config, {
        onProgress: io.progress,
        onStep: (step) => io.note(formatStep(step)),
      });
      const loop = opts.loop
        ? await runChurnLoop(io.config, {
            version: result.registry.version,
            partition: result.ingest.partition,
            features: result.training.features,
            onProgress: io.progress,
            onEvent: (event) => io.note(formatLoopEvent(event)),
          })
        : undefined;
      if (loop) io.note(loopSummary(loop));
      const next = loop
        ? [
            ...result.next,
            'keel monitor history --model churn-loop',
            'keel monitor alerts --model churn-loop --status all',
            'keel retrain history --model churn-loop',
          ]
        : result.next;
      io.emit(loop ? { ...result, next, loop } : result, () =>
        ['', `Done: everything is in ${result.home}. Next:`, ...next.map((c) => `  npx ${c}`)].join('\n'),
      );
    },
  );
}
