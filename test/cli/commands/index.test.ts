import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { groups, registerCommands } from '../../../src/cli/commands/index.js';

describe('command registration', () => {
  it('each group declares exactly the top-level commands it registers', async () => {
    for (const group of groups) {
      const program = new Command('keel');
      (await group.load())(program);
      expect(program.commands.map((c) => c.name())).toEqual(group.commands);
    }
  });

  it('registers only the group of the command being run, and every group otherwise', async () => {
    const one = new Command('keel');
    await registerCommands(one, ['status', '--json']);
    expect(one.commands.map((c) => c.name())).toEqual([
      'repro',
      'status',
      'dag',
      'params',
      'metrics',
      'plots',
      'checkout',
      'gc',
    ]);
    const all = new Command('keel');
    await registerCommands(all, ['--help']);
    expect(all.commands.length).toBe(groups.flatMap((g) => g.commands).length);
  });
});
