/**
 * @module cli/commands
 * Every command group, registered in the order `keel --help` lists them.
 */
import type { Command } from 'commander';
import { registerFeaturesCommands } from './features.js';

const groups: Array<(program: Command) => void> = [registerFeaturesCommands];

export function registerCommands(program: Command): void {
  for (const register of groups) register(program);
}
