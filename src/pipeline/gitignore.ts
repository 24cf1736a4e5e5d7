/**
 * @module pipeline/gitignore
 * Cached outputs are kept out of git as DVC keeps them: when an output is saved, `/<name>` is
 * appended to the `.gitignore` of its folder unless git already ignores it (asked with
 * `git check-ignore`), only inside a git work tree.
 */
import { execFileSync } from 'node:child_process';
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import { gitTopLevel } from './project-fs.js';

const META = /[[\]!*#?]/g;

export class GitIgnorer {
  private top: string | null | undefined;
  /** The .gitignore files written to, root-relative, for the "git add" hint. */
  readonly touched = new Set<string>();

  constructor(private readonly root: string) {}

  private gitRoot(): string | null {
    if (this.top === undefined) this.top = gitTopLevel(this.root) ?? null;
    return this.top;
  }

  private isIgnored(abs: string, isDir: boolean): boolean {
    try {
      execFileSync('git', ['check-ignore', '-q', '--no-index', isDir ? `${abs}/` : abs], {
        cwd: this.root,
        stdio: 'ignore',
      });
      return true;
    } catch {
      return false;
    }
  }

  /** Adds `abs` (an output inside the work tree) to its folder's .gitignore. */
  ignore(abs: string, isDir: boolean): void {
    const top = this.gitRoot();
    if (!top || relative(top, abs).startsWith('..')) return;
    if (this.isIgnored(abs, isDir)) return;
    const gitignore = join(dirname(abs), '.gitignore');
    const entry = `/${basename(abs).replace(META, '\\$&')}`;
    const text = existsSync(gitignore) ? readFileSync(gitignore, 'utf8') : '';
    appendFileSync(gitignore, `${text === '' || text.endsWith('\n') ? '' : '\n'}${entry}\n`);
    this.touched.add(relative(this.root, gitignore));
  }
}
