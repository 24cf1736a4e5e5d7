/**
 * @module cli/commands/demo
 * `keel demo`: what `npm run demo` runs. Each step prints as it finishes; `--json` prints the
 * whole result as one document at the end instead.
 */
import type { Command } from 'commander';
import { action } from '../io.js';

export function registerDemoCommand(program: Command): void {
  action(
    program
      .command('demo')
      .description('the churn use case end to end in .keel/ (embedded stores, no server needed)'),
    async (io) => {
      const { runChurnDemo, formatStep } = await import('../../demo/index.js');
      const result = await runChurnDemo(io.config, {
        onProgress: io.progress,
        onStep: (step) => io.note(formatStep(step)),
      });
      io.emit(result, (r) =>
        ['', `Done: everything is in ${r.home}. Next:`, ...r.next.map((c) => `  npx ${c}`)].join('\n'),
      );
    },
  );
}
