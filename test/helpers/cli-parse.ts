/**
 * Parses a `keel` command line with the real CLI's command definitions (the groups main.ts
 * registers), without running it: the subcommand path, and the words it does not know. A manifest's
 * or a workflow's `keel` invocation is checked this way, so a renamed flag fails its test.
 */
import { Command } from 'commander';
import { registerCommands } from '../../src/cli/commands/index.js';

export interface ParsedCommandLine {
  /** The subcommand path, e.g. ['models', 'promote']. */
  command: string[];
  /** Options the command does not define. */
  unknown: string[];
}

async function program(argv: string[]): Promise<Command> {
  const root = new Command('keel').enablePositionalOptions().exitOverride();
  await registerCommands(root, argv);
  return root;
}

/** Whether the CLI has a top-level command of that name. */
export async function hasCommand(name: string): Promise<boolean> {
  return (await program([name])).commands.some((c) => c.name() === name);
}

/**
 * @throws when the path names no command, an option lacks its value, or the positional arguments
 *   do not fit the command's.
 */
export async function cliParse(argv: string[]): Promise<ParsedCommandLine> {
  let cmd = await program(argv);
  const path: string[] = [];
  let rest = argv;
  while (cmd.commands.length > 0) {
    const word = rest[0];
    const sub = cmd.commands.find((c) => c.name() === word || c.aliases().includes(word));
    if (!sub) throw new Error(`keel ${[...path, word].join(' ')}: no such command`);
    sub.exitOverride();
    path.push(word);
    cmd = sub;
    rest = rest.slice(1);
  }
  const { operands, unknown } = cmd.parseOptions(rest);
  const args = cmd.registeredArguments;
  const required = args.filter((a) => a.required).length;
  const variadic = args.some((a) => a.variadic);
  if (operands.length < required || (!variadic && operands.length > args.length)) {
    throw new Error(
      `keel ${path.join(' ')} takes ${required}${variadic ? '+' : `-${args.length}`} arguments, got ${operands.length}: ${operands.join(' ')}`,
    );
  }
  for (const option of cmd.options) {
    if (option.mandatory && cmd.getOptionValue(option.attributeName()) === undefined) {
      throw new Error(`keel ${path.join(' ')}: ${option.flags} is required`);
    }
  }
  return { command: path, unknown };
}
