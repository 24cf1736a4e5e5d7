/**
 * @module pipeline/metrics
 * `metrics show`, `metrics diff` and `params diff` as DVC 3 computes them. Metrics files are the
 * stages' `metrics` outputs and the top-level `metrics`, read whole (numbers, strings and
 * booleans at any depth; lists dropped); a cached metrics file missing from git at a revision is
 * read from the cache through that revision's lock. Params are those of every params dependency
 * (nested, only the listed keys), every top-level `params` file and `params.yaml` whole, plus the
 * values `${...}` read from other files. Diffs flatten to dotted keys, show lists as Python
 * reprs, compare with Python's `==`, and give `diff = new - old` for numbers.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { KeelError } from '../core/index.js';
import { loadProject } from './dvcfile.js';
import { lockItems, lockStage, parseLock } from './lock.js';
import { DEFAULT_PARAMS_FILE, flattenDict, parseParamsText, selectKeys } from './params.js';
import { rootRelative } from './paths.js';
import { gitTopLevel, type ProjectFs, revisionFs, workspaceFs } from './project-fs.js';
import { isDict, isList, PyDict, PyFloat, type PyValue, pyEquals, pyRepr } from './pyvalue.js';
import type { Project, Stage } from './schema.js';
import { parseDataFile } from './yaml-load.js';

/** One file's result: its data, or the error reading it (as DVC's `FileResult`). */
export type FileResult = { data: PyValue } | { error: { type: string; msg: string } };

/** file -> result, in collection order. */
export type FilesData = Map<string, FileResult>;

/** A changed (or, with `all`, any) value between two revisions. */
export interface ValueDiff {
  old: PyValue;
  new: PyValue;
  diff?: PyValue;
}

/** file -> dotted key -> change. */
export type DiffResult = Map<string, Map<string, ValueDiff>>;

function loadAt(fs: ProjectFs): Project | undefined {
  if (fs.read('dvc.yaml') === undefined) return undefined;
  return loadProject(fs.root, { fs });
}

/** A file missing at a revision, as DVC reports it. */
const notFound = (fs: ProjectFs, file: string): FileResult => ({
  error: { type: 'FileNotFoundError', msg: `[Errno 2] No such file or directory: '${join(fs.root, file)}'` },
});

/** The files of a project as DVC collects them for `metrics show`: top-level, then stage metrics. */
export function metricsFiles(project: Project): string[] {
  const stageFiles = project.stages.flatMap((s) =>
    s.outs.filter((o) => o.kind === 'metrics').map((o) => rootRelative(s, o.path)),
  );
  return [...new Set([...project.metrics.map((m) => rootRelative({ wdir: '.' }, m)), ...stageFiles])];
}

/** A cached output's text at a revision, read from the object cache through that revision's lock. */
function fromCache(fs: ProjectFs, project: Project, path: string, home: string): string | undefined {
  const lockText = fs.read('dvc.lock');
  if (lockText === undefined) return undefined;
  const lock = parseLock(lockText, 'dvc.lock');
  for (const stage of project.stages) {
    for (const item of lockItems(lockStage(lock, stage.name), 'outs')) {
      if (rootRelative(stage, item.path) !== path || !item.md5) continue;
      const dir = item.hashName === 'md5' ? join(home, 'cache', 'files', 'md5') : join(home, 'cache');
      const object = join(dir, item.md5.slice(0, 2), item.md5.slice(2));
      return existsSync(object) ? readFileSync(object, 'utf8') : undefined;
    }
  }
  return undefined;
}

/** DVC's `_extract_metrics`: numbers, strings and booleans at any depth; anything else dropped. */
function extractMetrics(v: PyValue): PyValue | undefined {
  if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean' || typeof v === 'string')
    return v;
  if (v instanceof PyFloat) return v;
  if (!isDict(v)) return undefined;
  const out = new PyDict();
  for (const [k, x] of v) {
    const m = extractMetrics(x);
    if (m !== undefined && !(isDict(m) && m.size === 0)) out.set(k, m);
  }
  return out;
}

function readMetrics(fs: ProjectFs, project: Project, home: string): FilesData {
  const out: FilesData = new Map();
  for (const file of metricsFiles(project)) {
    const text = fs.read(file) ?? (fs.rev === 'workspace' ? undefined : fromCache(fs, project, file, home));
    if (text === undefined) {
      out.set(file, notFound(fs, file));
      continue;
    }
    try {
      out.set(file, { data: extractMetrics(parseDataFile(text, file)) ?? new PyDict() });
    } catch (err) {
      out.set(file, { error: { type: 'YAMLFileCorruptedError', msg: (err as Error).message } });
    }
  }
  return out;
}

function fsAt(root: string, rev: string | undefined): ProjectFs {
  if (!rev || rev === 'workspace') return workspaceFs(root);
  if (!gitTopLevel(root))
    throw new KeelError('RESOURCE_DOES_NOT_EXIST', `${root} is not in a git repository`);
  return revisionFs(root, rev);
}

/** `metrics show`: the metrics files of the workspace (or of `rev`). */
export function showMetrics(root: string, home: string, rev?: string): FilesData {
  const fs = fsAt(root, rev);
  const project = loadAt(fs);
  return project ? readMetrics(fs, project, home) : new Map();
}

/** A stage's metrics file now: its values by dotted key, or why it could not be read. */
export interface StageMetricsFile {
  file: string;
  values?: Record<string, number | string | boolean>;
  error?: string;
}

/** The workspace's metrics files of one stage (its `metrics` outputs), from `metrics show` data. */
export function stageMetrics(stage: Stage, data: FilesData): StageMetricsFile[] {
  return stage.outs
    .filter((o) => o.kind === 'metrics')
    .map((o) => {
      const file = rootRelative(stage, o.path);
      const result = data.get(file);
      if (!result) return { file, error: 'not a metrics file of the project' };
      if ('error' in result) return { file, error: result.error.msg };
      const values: Record<string, number | string | boolean> = {};
      if (isDict(result.data))
        for (const [k, v] of flattenDict(result.data)) {
          const plain = v instanceof PyFloat ? v.value : v;
          if (typeof plain === 'number' || typeof plain === 'string' || typeof plain === 'boolean')
            values[k] = plain;
          else if (typeof plain === 'bigint') values[k] = Number(plain);
        }
      return { file, values };
    });
}

/** `params show` data: every tracked params file's values (nested) and `${...}` values from other files. */
export function showParams(root: string, rev?: string): FilesData {
  const fs = fsAt(root, rev);
  const project = loadAt(fs);
  const wanted = new Map<string, string[]>();
  const add = (file: string, keys: string[]) => {
    const had = wanted.get(file);
    wanted.set(file, had?.length === 0 || keys.length === 0 ? [] : [...(had ?? []), ...keys]);
  };
  for (const stage of project?.stages ?? [])
    for (const p of stage.params) add(rootRelative(stage, p.file), p.keys);
  for (const file of project?.params ?? []) add(rootRelative({ wdir: '.' }, file), []);
  if (fs.read(DEFAULT_PARAMS_FILE) !== undefined) add(DEFAULT_PARAMS_FILE, []);
  const out: FilesData = new Map();
  for (const [file, keys] of wanted) {
    const text = fs.read(file);
    if (text === undefined) {
      out.set(file, notFound(fs, file));
      continue;
    }
    const tree = parseParamsText(text, file);
    out.set(file, { data: keys.length ? selectKeys(tree, keys) : tree });
  }
  const vars = new Map<string, PyDict>();
  for (const stage of project?.stages ?? []) {
    for (const [file, values] of stage.trackedVars) {
      if (out.has(file)) continue;
      const d = vars.get(file) ?? new PyDict();
      for (const [k, v] of values) d.set(k, v);
      vars.set(file, d);
    }
  }
  for (const [file, d] of vars) out.set(file, { data: d });
  return out;
}

/** DVC's `format_dict`: lists become their Python repr, recursively inside mappings. */
function formatDict(v: PyValue): PyValue {
  if (isList(v)) return pyRepr(v);
  if (isDict(v)) return new PyDict([...v].map(([k, x]) => [k, formatDict(x)]));
  return v;
}

/** flatten_dict's dot reducer over nested mappings. */
function flatten(d: PyDict, prefix = '', out = new Map<string, PyValue>()): Map<string, PyValue> {
  for (const [k, v] of d) {
    const key = prefix ? `${prefix}.${String(k)}` : String(k);
    if (isDict(v) && v.size > 0) flatten(v, key, out);
    else out.set(key, v);
  }
  return out;
}

const isNumber = (v: PyValue) =>
  typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean' || v instanceof PyFloat;

/** `new - old` with Python's types: an int when both are ints, else a float. */
function subtract(a: PyValue, b: PyValue): PyValue {
  const int = (v: PyValue) =>
    typeof v === 'boolean'
      ? BigInt(Number(v))
      : typeof v === 'number'
        ? BigInt(v)
        : typeof v === 'bigint'
          ? v
          : undefined;
  const x = int(a);
  const y = int(b);
  if (x !== undefined && y !== undefined) {
    const d = y - x;
    return d >= BigInt(Number.MIN_SAFE_INTEGER) && d <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(d) : d;
  }
  const num = (v: PyValue) => (v instanceof PyFloat ? v.value : Number(v));
  return new PyFloat(num(b) - num(a));
}

function diffValues(old: PyValue, now: PyValue, all: boolean): ValueDiff | undefined {
  if (isList(old) && isList(now) && old.length === 1 && now.length === 1)
    return diffValues(old[0], now[0], all);
  if (!all && pyEquals(old, now)) return undefined;
  const d: ValueDiff = { old, new: now };
  if (isNumber(old) && isNumber(now) && old !== null && now !== null) d.diff = subtract(old, now);
  return d;
}

/** DVC's `dvc.utils.diff.diff` over two revisions' file results. */
export function diffData(before: FilesData, after: FilesData, all = false): DiffResult {
  const out: DiffResult = new Map();
  const files = [...new Set([...before.keys(), ...after.keys()])];
  const dataOf = (r: FileResult | undefined): PyValue =>
    r && 'data' in r ? formatDict(r.data) : new PyDict();
  for (const file of files) {
    const a = dataOf(before.get(file));
    const b = dataOf(after.get(file));
    const changes = new Map<string, ValueDiff>();
    if (isDict(a) || isDict(b)) {
      const fa = isDict(a) ? flatten(a) : new Map<string, PyValue>();
      const fb = isDict(b) ? flatten(b) : new Map<string, PyValue>();
      for (const key of new Set([...fa.keys(), ...fb.keys()])) {
        const d = diffValues(fa.get(key) ?? null, fb.get(key) ?? null, all);
        if (d) changes.set(key, d);
      }
    } else {
      const d = diffValues(a, b, all);
      if (d) changes.set('', d);
    }
    if (changes.size) out.set(file, changes);
  }
  return out;
}

/** True when the repository has no commit yet (DVC diffs nothing then). */
function noCommits(root: string): boolean {
  try {
    revisionFs(root, 'HEAD');
    return false;
  } catch {
    return true;
  }
}

/**
 * `metrics diff a_rev [b_rev]` (default HEAD against the workspace).
 * @throws KeelError RESOURCE_DOES_NOT_EXIST outside a git repository or for an unknown revision.
 */
export function diffMetrics(
  root: string,
  home: string,
  aRev = 'HEAD',
  bRev?: string,
  all = false,
): DiffResult {
  if (!gitTopLevel(root))
    throw new KeelError('RESOURCE_DOES_NOT_EXIST', `${root} is not in a git repository`);
  if (noCommits(root)) return new Map();
  return diffData(showMetrics(root, home, aRev), showMetrics(root, home, bRev), all);
}

/**
 * `params diff a_rev [b_rev]` (default HEAD against the workspace).
 * @throws KeelError RESOURCE_DOES_NOT_EXIST outside a git repository or for an unknown revision.
 */
export function diffParams(root: string, aRev = 'HEAD', bRev?: string, all = false): DiffResult {
  if (!gitTopLevel(root))
    throw new KeelError('RESOURCE_DOES_NOT_EXIST', `${root} is not in a git repository`);
  if (noCommits(root)) return new Map();
  return diffData(showParams(root, aRev), showParams(root, bRev), all);
}

/** A diff as `--json` prints it: file -> key -> {old, new, diff}. */
export function diffToPy(diff: DiffResult): PyDict {
  return new PyDict(
    [...diff].map(([file, keys]) => [
      file,
      new PyDict(
        [...keys].map(([k, d]) => [
          k,
          new PyDict([
            ['old', d.old],
            ['new', d.new],
            ...(d.diff !== undefined ? ([['diff', d.diff]] as Array<[string, PyValue]>) : []),
          ]),
        ]),
      ),
    ]),
  );
}

/** Results as `metrics show --json` prints them: `{"": {"data": {file: {"data": ...}}}}`. */
export function filesToPy(data: FilesData, rev = ''): PyDict {
  const files = new PyDict(
    [...data].map(([file, r]) => [
      file,
      'data' in r
        ? new PyDict([['data', r.data]])
        : PyDict.of({ error: PyDict.of({ type: r.error.type, msg: r.error.msg }) }),
    ]),
  );
  return new PyDict([[rev, PyDict.of({ data: files })]]);
}
