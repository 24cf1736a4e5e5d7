#!/usr/bin/env node
/**
 * @module cli/main
 * The `keel` command. Each area's commands live in `commands/<area>.ts`; they are registered
 * here by an explicit list (only the group of the command being run is loaded), and each command
 * is a thin call into a subsystem.
 */
import { Command } from 'commander';
import { registerCommands } from './commands/index.js';
import { reportError } from './io.js';

const program = new Command('keel')
  .description('Keel: the MLOps platform for TypeScript')
  .version('0.1.0')
  .showHelpAfterError()
  .exitOverride();

await registerCommands(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  // commander throws for --help/--version (exit 0) and for usage errors (exit 2).
  const code = (err as { code?: string; exitCode?: number }).code;
  if (typeof code === 'string' && code.startsWith('commander.')) {
    process.exitCode = (err as { exitCode: number }).exitCode === 0 ? 0 : 2;
  } else {
    process.exitCode = reportError(err, process.argv.includes('--json'));
  }
}
