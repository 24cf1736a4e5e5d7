/**
 * @module cli/commands
 * Every command group, in the order `keel --help` lists them. A group's module (and the
 * subsystem it calls) is imported only when one of its commands runs, so `keel status` does not
 * load serving or the feature store; `--help` and unknown commands load them all.
 */
import type { Command } from 'commander';

type Register = (program: Command) => void;

interface CommandGroup {
  /** The top-level commands the group registers (checked by test/cli/commands/index.test.ts). */
  commands: string[];
  load: () => Promise<Register>;
}

export const groups: CommandGroup[] = [
  { commands: ['demo'], load: async () => (await import('./demo.js')).registerDemoCommand },
  {
    commands: ['ingest', 'datasets', 'show'],
    load: async () => (await import('./data.js')).registerDataCommands,
  },
  { commands: ['features'], load: async () => (await import('./features.js')).registerFeaturesCommands },
  {
    commands: ['repro', 'status', 'dag', 'params', 'metrics', 'plots', 'checkout', 'gc'],
    load: async () => (await import('./pipeline.js')).registerPipelineCommands,
  },
  { commands: ['train', 'evaluate'], load: async () => (await import('./ml.js')).registerMlCommands },
  { commands: ['serve'], load: async () => (await import('./serve.js')).registerServeCommand },
  {
    commands: ['experiments', 'runs'],
    load: async () => (await import('./tracking.js')).registerTrackingCommands,
  },
  { commands: ['models', 'tokens'], load: async () => (await import('./models.js')).registerModelCommands },
  { commands: ['score'], load: async () => (await import('./score.js')).registerScoreCommand },
  { commands: ['drift'], load: async () => (await import('./drift.js')).registerDriftCommand },
  {
    commands: ['predictions'],
    load: async () => (await import('./predictions.js')).registerPredictionsCommands,
  },
  { commands: ['monitor'], load: async () => (await import('./monitor.js')).registerMonitorCommands },
  { commands: ['retrain'], load: async () => (await import('./retrain.js')).registerRetrainCommands },
  { commands: ['init', 'probe'], load: async () => (await import('./deploy.js')).registerDeployCommands },
];

/** Registers the group of the command named in `argv` (the first word), or every group. */
export async function registerCommands(
  program: Command,
  argv: string[] = process.argv.slice(2),
): Promise<void> {
  const name = argv.find((a) => !a.startsWith('-'));
  const matched = groups.filter((g) => name !== undefined && g.commands.includes(name));
  for (const group of matched.length ? matched : groups) (await group.load())(program);
}
