/**
 * README.md as a script: its fenced `sh` and `ts` blocks, in order, each `sh` block split into
 * commands (backslash continuations and heredocs kept whole, comment-only lines dropped), with
 * what the README itself says about each: `here: exit N` for an expected exit code, `needs the
 * mlflow Python package` for a line this machine cannot run, and a
 * `<!-- readme-test: skip (reason) -->` line before a block the suite runs by other means.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const README = join(import.meta.dirname, '..', '..', 'README.md');

export interface ReadmeBlock {
  lang: string;
  text: string;
  /** The 1-based line of the opening fence. */
  line: number;
  /** Why the test does not run it, when the README says so. */
  skip?: string;
}

export interface ReadmeCommand {
  /** The command as written (continuations and heredoc included). */
  text: string;
  /** The exit code the README states for it (`here: exit 7`), else 0. */
  exit: number;
  /** Set for a line that needs the mlflow Python package. */
  needsMlflow: boolean;
}

export function readmeBlocks(path = README): ReadmeBlock[] {
  const lines = readFileSync(path, 'utf8').split('\n');
  const blocks: ReadmeBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\w+)\s*$/.exec(lines[i]);
    if (!open) continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && lines[i] !== '```'; i++) body.push(lines[i]);
    const marker = /^<!-- readme-test: skip \((.+)\) -->$/.exec(lines[start - 1] ?? '');
    blocks.push({
      lang: open[1],
      text: body.join('\n'),
      line: start + 1,
      ...(marker ? { skip: marker[1] } : {}),
    });
  }
  return blocks;
}

/** The commands of a shell block. */
export function shellCommands(text: string): ReadmeCommand[] {
  const lines = text.split('\n');
  const commands: ReadmeCommand[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (lines[i].trim() === '' || lines[i].trim().startsWith('#')) continue;
    const parts = [lines[i]];
    while (parts[parts.length - 1].endsWith('\\') && i + 1 < lines.length) parts.push(lines[++i]);
    const heredoc = /<<-?'?(\w+)'?/.exec(parts.join('\n'));
    if (heredoc) {
      while (i + 1 < lines.length && lines[i + 1] !== heredoc[1]) parts.push(lines[++i]);
      parts.push(lines[++i]);
    }
    const commandText = parts.join('\n');
    const comment = /\s#\s(.*)$/.exec(parts[0])?.[1] ?? '';
    commands.push({
      text: commandText,
      exit: Number(/\bhere: exit (\d+)/.exec(comment)?.[1] ?? 0),
      needsMlflow: /needs the mlflow Python package/.test(comment),
    });
  }
  return commands;
}
