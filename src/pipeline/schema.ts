/**
 * @module pipeline/schema
 * The shape of `dvc.yaml` (zod, strict: an unknown key is refused with its path) and the
 * normalised stage Keel works with after templating and expansion.
 */
import { z } from 'zod';
import type { PyDict, PyValue } from './pyvalue.js';

const annotations = {
  desc: z.string().optional(),
  type: z.string().optional(),
  labels: z.array(z.string()).optional(),
  meta: z.unknown().optional(),
};

const outFlags = {
  cache: z.boolean().optional(),
  persist: z.boolean().optional(),
  remote: z.string().optional(),
  push: z.boolean().optional(),
  ...annotations,
};

const plotProps = {
  ...outFlags,
  x: z.union([z.string(), z.record(z.string(), z.string())]).optional(),
  y: z
    .union([
      z.string(),
      z.array(z.string()),
      z.record(z.string(), z.union([z.string(), z.array(z.string())])),
    ])
    .optional(),
  template: z.string().optional(),
  title: z.string().optional(),
  x_label: z.string().optional(),
  y_label: z.string().optional(),
  header: z.boolean().optional(),
};

/** The plot properties DVC keeps apart from an output's flags. */
export const PLOT_PROPS = ['x', 'y', 'template', 'title', 'x_label', 'y_label', 'header'] as const;

const single = <T extends z.ZodType>(value: T) =>
  z.record(z.string(), value).refine((r) => Object.keys(r).length === 1, 'must name exactly one path');

const outEntry = z.union([z.string().min(1), single(z.strictObject(outFlags).nullable())]);
const plotEntry = z.union([z.string().min(1), single(z.strictObject(plotProps).nullable())]);
const paramsEntry = z.union([z.string().min(1), single(z.array(z.string().min(1)).nullable())]);
/** `vars` entries: a params file (optionally `file:key1,key2`) or an inline mapping. */
export const varsEntry = z.union([z.string().min(1), z.record(z.string(), z.unknown())]);

/** One stage after templating: every field DVC 3 accepts. */
export const stageSchema = z.strictObject({
  cmd: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]),
  wdir: z.string().optional(),
  deps: z.array(z.string().min(1)).optional(),
  outs: z.array(outEntry).optional(),
  metrics: z.array(outEntry).optional(),
  plots: z.array(plotEntry).optional(),
  params: z.array(paramsEntry).optional(),
  frozen: z.boolean().optional(),
  always_changed: z.boolean().optional(),
  meta: z.unknown().optional(),
  desc: z.string().optional(),
  vars: z.array(varsEntry).optional(),
});
export type RawStage = z.infer<typeof stageSchema>;

export const dvcFileSchema = z.strictObject({
  stages: z.record(z.string(), z.record(z.string(), z.unknown())).optional(),
  vars: z.array(varsEntry).optional(),
  params: z.array(z.string()).optional(),
  metrics: z.array(z.string()).optional(),
  plots: z.array(z.union([z.string(), z.record(z.string(), z.unknown())])).optional(),
  artifacts: z.record(z.string(), z.unknown()).optional(),
  datasets: z.array(z.unknown()).optional(),
});

export type OutKind = 'outs' | 'metrics' | 'plots';

/** An output of a stage: a plain out, a metrics file or a plots file. */
export interface OutSpec {
  /** As written in dvc.yaml (after templating), relative to the stage's wdir. */
  path: string;
  kind: OutKind;
  cache: boolean;
  persist: boolean;
  /** Annotations DVC keeps with an output (never in the lock). */
  desc?: string;
  type?: string;
  labels?: string[];
  meta?: unknown;
  /** Plot properties (x, y, template, title, ...) for plots, in the file's order. */
  plot?: Record<string, unknown>;
}

/** Tracked params of one file: dotted keys, or none for the whole file. */
export interface ParamsSpec {
  /** As written, relative to the stage's wdir. */
  file: string;
  /** Empty: the whole file. */
  keys: string[];
}

/** A stage after templating and `foreach`/`matrix` expansion. */
export interface Stage {
  /** `name`, or `name@key` for expanded stages. */
  name: string;
  cmd: string | string[];
  /** Relative to the project root, posix separators; `.` by default. */
  wdir: string;
  deps: string[];
  outs: OutSpec[];
  params: ParamsSpec[];
  frozen: boolean;
  alwaysChanged: boolean;
  desc?: string;
  meta?: PyValue;
  /** Values `${...}` read from files other than params: file (root-relative) -> dotted key -> value. */
  trackedVars: Map<string, Map<string, PyValue>>;
}

/** A top-level `plots` entry, or a stage's plots output. */
export interface PlotSpec {
  /** Relative to the project root (or a plot id for top-level definitions with `y` mappings). */
  path: string;
  props: Record<string, unknown>;
}

/** A loaded `dvc.yaml`: root folder, stages in definition order, top-level metrics, params and plots. */
export interface Project {
  root: string;
  /** The dvc.yaml file name relative to root. */
  file: string;
  stages: Stage[];
  metrics: string[];
  plots: PlotSpec[];
  /** Top-level `params`: params files followed whole by `params diff`. */
  params: string[];
  /** The parsed dvc.yaml, for the `raw` stage definitions. */
  raw: PyDict;
}
