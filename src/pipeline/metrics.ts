/**
 * @module pipeline/metrics
 * Metrics files (JSON or YAML, numbers at any depth) and params as they are now and at a git
 * revision: `keel metrics show|diff` and `keel params diff`.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { showAtRevision, verifyRevision } from './git.js';
import { flattenParams, parseParamsText, sameValue } from './params.js';
import { rootRelative } from './paths.js';
import type { Project } from './schema.js';

/** file -> dotted key -> value. */
export type FileValues = Record<string, Record<string, unknown>>;

/** A changed (or, with `all`, any) value between a revision and the workspace. */
export interface ValueDiff {
  old?: unknown;
  new?: unknown;
  /** new - old, for numbers. */
  diff?: number;
}

/** Every metrics file of the project, root-relative: stage metrics, then top-level `metrics`. */
export function metricsFiles(project: Project): string[] {
  const stageFiles = project.stages.flatMap((s) =>
    s.outs.filter((o) => o.kind === 'metrics').map((o) => rootRelative(s, o.path)),
  );
  return [...new Set([...stageFiles, ...project.metrics])];
}

function numericLeaves(tree: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(flattenParams(tree)).filter(([, v]) => typeof v === 'number' || typeof v === 'boolean'),
  );
}

function readText(root: string, path: string, rev?: string): string | undefined {
  if (rev) return showAtRevision(root, rev, path);
  try {
    return readFileSync(join(root, path), 'utf8');
  } catch {
    return undefined;
  }
}

/** The metrics of every metrics file now (or at `rev`); a missing file is left out. */
export function showMetrics(project: Project, rev?: string): FileValues {
  if (rev) verifyRevision(project.root, rev);
  const out: FileValues = {};
  for (const file of metricsFiles(project)) {
    const text = readText(project.root, file, rev);
    if (text !== undefined) out[file] = numericLeaves(parseParamsText(text, file));
  }
  return out;
}

function diffValues(
  before: FileValues,
  after: FileValues,
  all: boolean,
): Record<string, Record<string, ValueDiff>> {
  const out: Record<string, Record<string, ValueDiff>> = {};
  for (const file of new Set([...Object.keys(before), ...Object.keys(after)])) {
    const a = before[file] ?? {};
    const b = after[file] ?? {};
    for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
      if (!all && sameValue(a[key], b[key])) continue;
      const d: ValueDiff = { old: a[key], new: b[key] };
      if (typeof a[key] === 'number' && typeof b[key] === 'number')
        d.diff = (b[key] as number) - (a[key] as number);
      out[file] = { ...out[file], [key]: d };
    }
  }
  return out;
}

/**
 * Metrics now against `rev` (default HEAD).
 * @throws KeelError RESOURCE_DOES_NOT_EXIST for an unknown revision.
 */
export function diffMetrics(
  project: Project,
  rev = 'HEAD',
  all = false,
): Record<string, Record<string, ValueDiff>> {
  return diffValues(showMetrics(project, rev), showMetrics(project), all);
}

function trackedParams(project: Project, rev?: string): FileValues {
  const specs = [
    ...project.stages.flatMap((stage) =>
      stage.params.map((p) => ({ file: rootRelative(stage, p.file), keys: p.keys })),
    ),
    ...project.params.map((file) => ({ file, keys: null })),
  ];
  const out: FileValues = {};
  for (const spec of specs) {
    const text = readText(project.root, spec.file, rev);
    if (text === undefined) continue;
    const flat = flattenParams(parseParamsText(text, spec.file));
    for (const key of spec.keys ?? Object.keys(flat)) {
      for (const [k, v] of Object.entries(flat)) {
        if (k === key || k.startsWith(`${key}.`)) out[spec.file] = { ...out[spec.file], [k]: v };
      }
    }
  }
  return out;
}

/**
 * Tracked params now against `rev` (default HEAD), flattened to dotted keys.
 * @throws KeelError RESOURCE_DOES_NOT_EXIST for an unknown revision.
 */
export function diffParams(
  project: Project,
  rev = 'HEAD',
  all = false,
): Record<string, Record<string, ValueDiff>> {
  verifyRevision(project.root, rev);
  return diffValues(trackedParams(project, rev), trackedParams(project), all);
}
