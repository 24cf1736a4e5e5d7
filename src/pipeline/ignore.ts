/**
 * @module pipeline/ignore
 * `.dvcignore` as DVC applies it while walking a folder: gitignore patterns (pathspec's
 * GitWildMatchPattern), each file's patterns relative to its own folder, parents' patterns before
 * children's, the last matching pattern deciding, an ignored folder never entered. `.git`, `.dvc`,
 * `.hg` and Keel's `.keel` are always ignored.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';

export const IGNORE_FILE = '.dvcignore';
const ALWAYS_IGNORED = new Set(['.git', '.dvc', '.hg', '.keel']);

interface Pattern {
  regex: RegExp;
  ignore: boolean;
}

function translateSegment(seg: string): string {
  let out = '';
  let escaped = false;
  for (let i = 0; i < seg.length; i++) {
    const ch = seg[i];
    if (escaped) {
      out += ch.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
      escaped = false;
    } else if (ch === '\\') escaped = true;
    else if (ch === '*') out += '[^/]*';
    else if (ch === '?') out += '[^/]';
    else if (ch === '[') {
      let j = i + 1;
      if (seg[j] === '!' || seg[j] === '^') j++;
      if (seg[j] === ']') j++;
      while (j < seg.length && seg[j] !== ']') j++;
      if (j < seg.length) {
        let body = seg.slice(i + 1, j);
        if (body[0] === '!') body = `^${body.slice(1)}`;
        out += `[${body.replaceAll('\\', '\\\\')}]`;
        i = j;
      } else out += '\\[';
    } else out += ch.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  }
  return out;
}

/** One gitignore line as a regex over `/`-separated paths, as pathspec builds it; null for none. */
export function patternToRegex(line: string): Pattern | null {
  let p = line.endsWith('\\ ') ? line.trimStart() : line.trim();
  if (!p || p.startsWith('#') || p === '/') return null;
  let ignore = true;
  if (p.startsWith('!')) {
    ignore = false;
    p = p.slice(1);
  }
  const segs = p.split('/');
  const isDirPattern = segs[segs.length - 1] === '';
  for (let i = segs.length - 1; i > 0; i--) if (segs[i - 1] === '**' && segs[i] === '**') segs.splice(i, 1);
  if (segs.length === 2 && segs[0] === '**' && segs[1] === '') return { regex: /^.+\/.*$/, ignore };
  if (segs[0] === '') segs.shift();
  else if (segs.length === 1 || (segs.length === 2 && segs[1] === '')) {
    if (segs[0] !== '**') segs.unshift('**');
  }
  if (segs.length === 0) return null;
  if (segs[segs.length - 1] === '' && segs.length > 1) segs[segs.length - 1] = '**';
  let out = '^';
  let needSlash = false;
  const end = segs.length - 1;
  segs.forEach((seg, i) => {
    if (seg === '**') {
      if (i === 0 && i === end) out += '[^/]+(?:/.*)?';
      else if (i === 0) {
        out += '(?:.+/)?';
        needSlash = false;
      } else if (i === end) out += isDirPattern ? '/.*' : '/.*';
      else {
        out += '(?:/.+)?';
        needSlash = true;
      }
    } else {
      if (needSlash) out += '/';
      out += seg === '*' ? '[^/]+' : translateSegment(seg);
      if (i === end) out += '(?:/.*)?';
      needSlash = true;
    }
  });
  return { regex: new RegExp(`${out}$`, 's'), ignore };
}

/** The `.dvcignore` rules of a project, read lazily folder by folder. */
export class IgnoreFilter {
  private readonly byDir = new Map<string, Pattern[]>();
  private readonly byScope = new Map<string, Array<{ prefix: string; patterns: Pattern[] }>>();

  /** @param root the project root; `.dvcignore` files above it are not read. */
  constructor(readonly root: string) {}

  private patternsIn(dir: string): Pattern[] {
    let found = this.byDir.get(dir);
    if (!found) {
      const file = join(dir, IGNORE_FILE);
      found = existsSync(file)
        ? readFileSync(file, 'utf8')
            .split(/\r?\n/)
            .map(patternToRegex)
            .filter((p): p is Pattern => p !== null)
        : [];
      this.byDir.set(dir, found);
    }
    return found;
  }

  /** The pattern lists that apply inside `dir`, deepest first, with the path of `dir` relative to each base. */
  private applicable(dir: string): Array<{ prefix: string; patterns: Pattern[] }> {
    let found = this.byScope.get(dir);
    if (!found) {
      const rel = relative(this.root, dir);
      const parts = rel && !rel.startsWith('..') ? rel.split(sep) : [];
      found = [];
      if (!rel.startsWith('..')) {
        for (let depth = parts.length; depth >= 0; depth--) {
          const patterns = this.patternsIn(join(this.root, ...parts.slice(0, depth)));
          if (patterns.length) found.push({ prefix: parts.slice(depth).join('/'), patterns });
        }
      }
      this.byScope.set(dir, found);
    }
    return found;
  }

  /** True when `name` inside folder `dir` (absolute) is ignored. */
  isIgnored(dir: string, name: string, isDir: boolean): boolean {
    if (isDir && ALWAYS_IGNORED.has(name)) return true;
    // Deepest .dvcignore first: its last matching pattern wins over everything above it.
    for (const { prefix, patterns } of this.applicable(dir)) {
      const path = prefix ? `${prefix}/${name}` : name;
      for (let i = patterns.length - 1; i >= 0; i--) {
        const p = patterns[i];
        if (p.regex.test(path) || (isDir && p.regex.test(`${path}/`))) return p.ignore;
      }
    }
    return false;
  }

  /** True when the project path `abs` (a folder when `isDir`), or a folder above it, is ignored. */
  isPathIgnored(abs: string, isDir: boolean): boolean {
    const rel = relative(this.root, abs);
    if (!rel || rel.startsWith('..')) return false;
    const parts = rel.split(sep);
    for (let i = 0; i < parts.length; i++) {
      const dir = join(this.root, ...parts.slice(0, i));
      if (this.isIgnored(dir, parts[i], i < parts.length - 1 || isDir)) return true;
    }
    return false;
  }
}
