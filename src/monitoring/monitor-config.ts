/**
 * @module monitoring/monitor-config
 * `monitoring:` in keel.yaml, validated once at start so a bad window, cron expression or
 * threshold is an error naming its key before anything runs:
 *
 * ```yaml
 * monitoring:
 *   thresholds: { psi: 0.25 }          # defaults for every model (the seed's, unless changed)
 *   models:
 *     churn:
 *       window: 1h                     # each run reads one window of the prediction log
 *       schedule: '5 * * * *'          # cron (UTC) for `keel serve`; default: at each window's end
 *       reference: profile             # the served version's profile, or { dataset: file }
 *       checks: [quality, drift, prediction, performance, service]
 *       features: [tenure, orders]     # default: every feature of the profile
 *       thresholds: { p99Ms: 50 }      # this model's, over the defaults
 *       featureThresholds: { tenure: { psi: null } }   # per feature; null turns a rule off
 *       retrain:
 *         recipe: { train: train.yaml }            # or { repro: { stages: [train], model: model.onnx } }
 *         triggers: { schedule: '0 3 * * 0', drift: { psi: 0.2, share: 0.3 }, performance: { drop: 0.05 } }
 *         promote: { stage: Staging, canaryAlias: challenger }
 * ```
 */
import { Cron } from 'croner';
import { z } from 'zod';
import { formatDuration, KeelError, parseDuration, parseInput } from '../core/index.js';

export const CHECKS = ['quality', 'drift', 'prediction', 'performance', 'service'] as const;
/** Most rows of a window the value-based tests see by default. */
const DEFAULT_SAMPLE_ROWS = 100_000;
export type CheckName = (typeof CHECKS)[number];

/** The seed's alert thresholds. `null` turns a rule off. */
export const DEFAULT_THRESHOLDS = {
  /** Missing values of a feature above this share. */
  missingShare: 0.05 as number | null,
  /** The seed's PSI of a feature above this. */
  psi: 0.2 as number | null,
  /** Two-sample KS of the scores against the reference's, p-value below this. */
  predictionKsP: 0.01 as number | null,
  /** Relative drop of the performance metric against the run's (0.05: 5%). */
  performanceDrop: 0.05 as number | null,
  /** Request latency p99 above this, in ms. */
  p99Ms: 100 as number | null,
  /** Failed (5xx) requests above this share. */
  errorRate: 0.01 as number | null,
  /** Values outside the reference's [min, max] above this share (off by default). */
  outOfRangeShare: null as number | null,
  /** Rows against the mean of the previous windows: below min or above max times (off by default). */
  volumeRatio: null as { min?: number; max?: number } | null,
  /** Fewer present values than this make a drift test "insufficient data", never "no drift". */
  minRows: 30,
  /** Fewer labelled rows than this make performance "insufficient data". */
  minLabels: 30,
};
export type Thresholds = typeof DEFAULT_THRESHOLDS;

const rate = (max = 1) => z.number().finite().min(0).max(max).nullable();
const thresholdsSchema = z.strictObject({
  missingShare: rate().optional(),
  psi: z.number().finite().positive().nullable().optional(),
  predictionKsP: rate().optional(),
  performanceDrop: rate().optional(),
  p99Ms: z.number().finite().positive().nullable().optional(),
  errorRate: rate().optional(),
  outOfRangeShare: rate().optional(),
  volumeRatio: z
    .strictObject({
      min: z.number().finite().min(0).optional(),
      max: z.number().finite().positive().optional(),
    })
    .nullable()
    .optional(),
  minRows: z.number().int().min(1).optional(),
  minLabels: z.number().int().min(1).optional(),
});
const featureThresholdsSchema = z.strictObject({
  missingShare: rate().optional(),
  psi: z.number().finite().positive().nullable().optional(),
  outOfRangeShare: rate().optional(),
});
export type FeatureThresholds = z.output<typeof featureThresholdsSchema>;

const durationText = z.string().refine((s) => {
  try {
    parseDuration(s, 'window');
    return true;
  } catch {
    return false;
  }
}, 'must be a duration such as 30m, 1h or 7d');

/** A cron expression croner accepts (5 or 6 fields), checked now rather than at the first tick. */
export const cronText = z.string().superRefine((s, ctx) => {
  try {
    new Cron(s, { paused: true, timezone: 'UTC' });
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: `is not a valid cron expression: ${(err as Error).message}` });
  }
});

const retrainSchema = z.strictObject({
  /** The model's training recipe, run in a child process from the project root. */
  recipe: z.union([
    /** `keel train --config <file>`: the run's ONNX artifact is registered. */
    z.strictObject({ train: z.string().min(1) }),
    /** `keel repro [stages]`: the ONNX file the pipeline wrote (`model`) is registered. */
    z.strictObject({
      repro: z.strictObject({ stages: z.array(z.string().min(1)).default([]), model: z.string().min(1) }),
    }),
  ]),
  triggers: z
    .strictObject({
      /** Retrain on this cron schedule (UTC), run by `keel serve`'s scheduler. */
      schedule: cronText.optional(),
      /** Retrain when a run finds PSI above `psi` on at least `share` of the features. */
      drift: z
        .strictObject({
          psi: z.number().positive().default(0.2),
          share: z.number().gt(0).max(1).default(0.3),
        })
        .optional(),
      /** Retrain when a run finds the monitor's metric worse than the run's baseline by more than `drop` (relative). */
      performance: z.strictObject({ drop: z.number().gt(0).max(1).default(0.05) }).optional(),
      /** `keel retrain` and `POST /api/2.0/keel/retrain` may retrain it (default true). */
      event: z.boolean().default(true),
    })
    .prefault({}),
  /** After a drift or performance retraining, the same trigger waits this long (default 1d). */
  cooldown: durationText.default('1d'),
  /** Where the new version goes: a stage through its gates, then the alias a server's canary follows. */
  promote: z
    .union([
      z.literal(false),
      z.strictObject({
        stage: z.enum(['Staging', 'Production']).default('Staging'),
        canaryAlias: z
          .string()
          .regex(/^[\w-]+$/)
          .nullable()
          .default('challenger'),
      }),
    ])
    .prefault({}),
  /** The tracking experiment of the training run (default `retrain-<model>`). */
  experiment: z.string().min(1).optional(),
  /** The recipe is stopped after this long (default 1h). */
  timeout: durationText.default('1h'),
});

const monitorSchema = z.strictObject({
  window: durationText.default('1h'),
  schedule: cronText.optional(),
  reference: z
    .union([z.literal('profile'), z.strictObject({ dataset: z.string().min(1) })])
    .default('profile'),
  checks: z
    .array(z.enum(CHECKS))
    .min(1)
    .default([...CHECKS]),
  features: z.array(z.string().min(1)).min(1).optional(),
  /** The metric performance is judged by (default roc_auc for classifiers, rmse for regressors). */
  metric: z.string().min(1).optional(),
  /** Most rows of a window Evidently's test per column sees (a uniform sample); PSI sees every row. */
  sampleRows: z.number().int().min(100).default(DEFAULT_SAMPLE_ROWS),
  thresholds: thresholdsSchema.optional(),
  featureThresholds: z.record(z.string(), featureThresholdsSchema).optional(),
  retrain: retrainSchema.optional(),
});

const monitoringSchema = z.strictObject({
  /** Validated by the prediction log, the alert delivery and the scheduler, whose settings they are. */
  predictionLog: z.unknown().optional(),
  alerts: z.unknown().optional(),
  scheduler: z.unknown().optional(),
  thresholds: thresholdsSchema.optional(),
  models: z.record(z.string(), monitorSchema).optional(),
});

export interface RetrainSpec {
  recipe: { train: string } | { repro: { stages: string[]; model: string } };
  triggers: {
    schedule?: string;
    drift?: { psi: number; share: number };
    performance?: { drop: number };
    event: boolean;
  };
  cooldownMs: number;
  promote: false | { stage: 'Staging' | 'Production'; canaryAlias: string | null };
  experiment: string;
  timeoutMs: number;
}

export interface MonitorSpec {
  model: string;
  windowMs: number;
  /** Cron (UTC); undefined means at the end of each window. */
  schedule?: string;
  reference: 'profile' | { dataset: string };
  checks: CheckName[];
  features?: string[];
  metric?: string;
  /** Most rows of a window the value-based tests see (a uniform sample); counts see every row. */
  sampleRows: number;
  thresholds: Thresholds;
  featureThresholds: Record<string, FeatureThresholds>;
  /** How the model retrains, when keel.yaml says. */
  retrain?: RetrainSpec;
}

export interface MonitoringSettings {
  /** Monitors configured by name. */
  models: Record<string, MonitorSpec>;
  /** Thresholds for a model run without a configured monitor. */
  defaults: Thresholds;
}

/** The settings of `monitoring` in keel.yaml (its other keys are other parts' to check). */
export function monitoringSettings(section: Record<string, unknown> | undefined): MonitoringSettings {
  const { thresholds, models } = parseInput(monitoringSchema, section ?? {}, 'keel.yaml monitoring');
  const defaults: Thresholds = { ...DEFAULT_THRESHOLDS, ...stripUndefined(thresholds ?? {}) };
  const specs: Record<string, MonitorSpec> = {};
  for (const [model, m] of Object.entries(models ?? {})) {
    specs[model] = {
      model,
      windowMs: parseDuration(m.window, `monitoring.models.${model}.window`),
      schedule: m.schedule,
      reference: m.reference,
      checks: m.checks,
      features: m.features,
      metric: m.metric,
      sampleRows: m.sampleRows,
      thresholds: { ...defaults, ...stripUndefined(m.thresholds ?? {}) },
      featureThresholds: m.featureThresholds ?? {},
      ...(m.retrain
        ? {
            retrain: {
              recipe: m.retrain.recipe,
              triggers: m.retrain.triggers,
              cooldownMs: parseDuration(m.retrain.cooldown, `monitoring.models.${model}.retrain.cooldown`),
              promote: m.retrain.promote,
              experiment: m.retrain.experiment ?? `retrain-${model}`,
              timeoutMs: parseDuration(m.retrain.timeout, `monitoring.models.${model}.retrain.timeout`),
            },
          }
        : {}),
    };
  }
  return { models: specs, defaults };
}

/** The monitor of `model`: the configured one, or the defaults with a window (1h unless given). */
export function monitorFor(settings: MonitoringSettings, model: string, windowMs?: number): MonitorSpec {
  const spec = settings.models[model] ?? {
    model,
    windowMs: 3_600_000,
    reference: 'profile' as const,
    checks: [...CHECKS],
    sampleRows: DEFAULT_SAMPLE_ROWS,
    thresholds: settings.defaults,
    featureThresholds: {},
  };
  if (windowMs !== undefined && (!Number.isFinite(windowMs) || windowMs <= 0))
    throw new KeelError('INVALID_PARAMETER_VALUE', `the window must be positive, got ${windowMs} ms`);
  return windowMs === undefined ? spec : { ...spec, windowMs };
}

/** A feature's threshold for a rule: its own override (null included), else the model's. */
export function featureThreshold(
  spec: MonitorSpec,
  feature: string,
  rule: keyof FeatureThresholds,
): number | null {
  const own = spec.featureThresholds[feature];
  return own && own[rule] !== undefined ? (own[rule] as number | null) : spec.thresholds[rule];
}

export const describeWindow = (ms: number): string => formatDuration(ms);

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
