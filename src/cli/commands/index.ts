/**
 * @module cli/commands
 * Every command group, registered in the order `keel --help` lists them.
 */
import type { Command } from 'commander';
import { registerDemoCommand } from './demo.js';
import { registerModelCommands } from './models.js';
import { registerServeCommand } from './serve.js';
import { registerTrackingCommands } from './tracking.js';

const groups: Array<(program: Command) => void> = [
  registerDemoCommand,
  registerServeCommand,
  registerTrackingCommands,
  registerModelCommands,
];

export function registerCommands(program: Command): void {
  for (const register of groups) register(program);
}
