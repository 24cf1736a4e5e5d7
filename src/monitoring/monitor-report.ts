/**
 * @module monitoring/monitor-report
 * What a monitor run reports: per version the reference it used, schema drift, each feature's
 * quality and drift, prediction drift, realised performance and the service figures; the model's
 * volume against earlier windows; every rule evaluated and those breached; and the time each
 * check took.
 */
import type {
  Evaluation,
  FeatureReport,
  PerformanceReport,
  PredictionReport,
  SchemaReport,
} from './monitor-checks.js';
import type { ServiceFigures } from './request-figures.js';

export interface VersionReport {
  version: string;
  rows: number;
  canaryRows: number;
  /** The reference compared with; null with `referenceError` when none could be had. */
  reference: { kind: 'profile' | 'dataset'; rows: number; path?: string } | null;
  referenceError?: string;
  schema: SchemaReport | null;
  features: FeatureReport[];
  prediction: PredictionReport | null;
  performance: PerformanceReport | null;
  service: ServiceFigures | null;
}

export interface MonitorReport {
  /** Set once stored. */
  id?: number;
  model: string;
  /** [start, end) in ms since the epoch. */
  window: { start: number; end: number };
  ranAt: number;
  /** `no_data`: nothing logged and no request counted in the window; `incomplete`: a version had no reference. */
  status: 'ok' | 'no_data' | 'incomplete';
  /** What started it: `manual`, `schedule`, ... */
  cause: string;
  rows: number;
  volume: { rows: number; previousMean: number | null; ratio: number | null };
  versions: VersionReport[];
  evaluations: Evaluation[];
  breaches: Evaluation[];
  /** ms per step: read, profile, quality, drift, prediction, performance, service. */
  timings: Record<string, number>;
}
