/**
 * @module monitoring/retrain-triggers
 * Whether a monitor run calls for retraining, by the model's `retrain.triggers`: `drift` when PSI
 * is above its bound on at least a share of the served version's features (those whose PSI rule
 * is on), `performance` when the
 * monitor's metric fell by more than a share of the run's baseline. The served version is the one
 * with the most rows outside the canary: a canary's drift is not the served model's.
 */
import { featureThreshold, type MonitorSpec } from './monitor-config.js';
import type { MonitorReport, VersionReport } from './monitor-report.js';
import type { RetrainCause } from './retrainings.js';

export interface Trigger {
  cause: RetrainCause;
  reason: string;
  evidence: Record<string, unknown>;
}

/** The version serving most of the window's traffic (canary rows aside). */
export function servedVersion(report: MonitorReport): VersionReport | undefined {
  let best: VersionReport | undefined;
  for (const v of report.versions) if (!best || v.rows - v.canaryRows > best.rows - best.canaryRows) best = v;
  return best && best.rows - best.canaryRows > 0 ? best : undefined;
}

const fixed = (x: number) => x.toFixed(3);

/** The drift or performance trigger a run fires, if any (drift first). */
export function reportTrigger(spec: MonitorSpec, report: MonitorReport): Trigger | undefined {
  const triggers = spec.retrain?.triggers;
  const served = servedVersion(report);
  if (!triggers || !served) return undefined;
  const base = { runId: report.id, window: report.window, version: served.version };
  if (triggers.drift) {
    // Features whose PSI rule is off (a feature that grows with time) do not count either.
    const judged = served.features.filter(
      (f) => f.psi !== null && featureThreshold(spec, f.name, 'psi') !== null,
    );
    const drifted = judged.filter((f) => (f.psi as number) > (triggers.drift?.psi ?? 0));
    if (judged.length > 0 && drifted.length / judged.length >= triggers.drift.share)
      return {
        cause: 'drift',
        reason: `PSI above ${triggers.drift.psi} on ${drifted.length} of ${judged.length} features of version ${served.version} (${drifted.map((f) => `${f.name} ${fixed(f.psi as number)}`).join(', ')})`,
        evidence: {
          ...base,
          psi: Object.fromEntries(judged.map((f) => [f.name, f.psi])),
          share: triggers.drift.share,
        },
      };
  }
  const perf = served.performance;
  if (
    triggers.performance &&
    perf?.drop !== null &&
    perf?.drop !== undefined &&
    perf.drop > triggers.performance.drop
  )
    return {
      cause: 'performance',
      reason: `${perf.metric} of version ${served.version} fell ${(perf.drop * 100).toFixed(1)}% below the run's ${fixed(perf.baseline as number)} (${fixed(perf.value as number)} on ${perf.labelled} labelled rows)`,
      evidence: { ...base, metric: perf.metric, value: perf.value, baseline: perf.baseline, drop: perf.drop },
    };
  return undefined;
}
