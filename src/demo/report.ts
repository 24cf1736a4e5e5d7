/**
 * @module demo/report
 * The demo's steps as text, printed as each one finishes.
 */
import type { DemoStep } from './churn.js';

const pct = (share: number, digits = 1) => `${(share * 100).toFixed(digits)}%`;
const int = (n: number) => n.toLocaleString('en-US');
const num = (v: number | null | undefined, digits = 3) =>
  v === null || v === undefined || Number.isNaN(v) ? 'n/a' : v.toFixed(digits);

/** The human report of one finished step. */
export function formatStep(s: DemoStep): string {
  switch (s.step) {
    case 'ingest': {
      const r = s.result;
      if (r.reused) {
        return [
          `1. ${r.file} was ingested as dataset '${r.dataset}' at ${new Date(r.reused.at).toISOString()} (same file digest): its ${int(r.rows)} rows are reused, nothing written`,
          `   stored ${r.partition} (${r.digest.slice(0, 19)}...)`,
        ].join('\n');
      }
      return [
        `1. Ingested ${r.file} as dataset '${r.dataset}': ${int(r.rows)} rows, ${r.checks.passed} checks passed, ${r.checks.failed} failed`,
        `   missing CustomerID: ${int(r.missingCustomerId.rows)} rows (${pct(r.missingCustomerId.share)}); exact duplicates: ${int(r.duplicates.rows)} (${pct(r.duplicates.share, 2)})`,
        `   stored ${r.partition} (${r.digest.slice(0, 19)}...)`,
      ].join('\n');
    }
    case 'features':
      return [
        `2. Applied the feature repo ${s.result.repo}:`,
        ...s.result.changes.map((c) => `   ${c.change.padEnd(9)} ${c.kind} ${c.name} v${c.version}`),
      ].join('\n');
    case 'training-set': {
      const r = s.result;
      return [
        `   Labelled churn (no valid purchase in the next 90 days) at ${r.cutoffs.length} cutoffs; point-in-time features from the store:`,
        ...r.cutoffs.map(
          (c) =>
            `   ${c.cutoff}  ${c.split.padEnd(5)}  ${int(c.customers).padStart(5)} customers  churn ${pct(c.churnRate)}`,
        ),
        `   training set ${r.path}: ${int(r.rows.train)} train rows, ${int(r.rows.test)} test rows (split by time)`,
      ].join('\n');
    }
    case 'train': {
      const r = s.result;
      const m = r.metrics;
      return [
        `3. Trained a GBDT (${r.iterations} trees) in run ${r.runId} of experiment '${r.experiment}'`,
        `   test cutoff: AUC ${num(m.roc_auc)}, average precision ${num(m.average_precision)}, log loss ${num(m.log_loss)}, accuracy ${num(m.accuracy)}`,
        `   top features by gain: ${r.importance
          .slice(0, 3)
          .map((i) => i.feature)
          .join(', ')}`,
        `   fairness by ${r.fairness.column} (UK vs non-UK customers) at threshold ${r.fairness.threshold}:`,
        ...r.fairness.groups.map(
          (g) =>
            `     ${g.group.padEnd(7)} n=${String(g.count).padStart(5)}  selection rate ${num(g.selectionRate)}  TPR ${num(g.tpr)}  FPR ${num(g.fpr)}`,
        ),
        `     disparate impact ${num(r.fairness.disparateImpactRatio)}, demographic parity difference ${num(r.fairness.demographicParityDifference)}`,
      ].join('\n');
    }
    case 'registry': {
      const r = s.result;
      const p = r.production;
      return [
        `4. Registered ${r.name} version ${r.version} from its run (lineage: run ${r.lineage.run_id}, ${r.lineage.datasets.length} datasets, feature views ${r.lineage.feature_views.join(', ')}); promoted to Staging; p99 ${num(r.p99Ms, 2)} ms`,
        `   Production: ${p.promoted ? 'promoted' : `refused, version stays in ${p.stageAfter}`}`,
        ...p.gates.map((g) => `     ${g.passed ? 'pass' : 'FAIL'}  ${g.gate}: ${g.message}`),
        ...(p.approvalRequired
          ? ['   Once every gate passes, a second person with the approver role must still approve.']
          : []),
      ].join('\n');
    }
    case 'online': {
      const r = s.result;
      return [
        `5. Materialized ${int(r.materializedRows)} customers into the online store; customer ${r.customerId} as of ${r.at}:`,
        ...Object.keys(r.online).map(
          (f) =>
            `     ${f.padEnd(22)} online ${String(r.online[f]).padStart(9)}  offline ${String(r.offline[f]).padStart(9)}`,
        ),
        `   ${r.mismatches.length === 0 ? 'online == offline: no training-serving skew' : `SKEW in ${r.mismatches.join(', ')}`}`,
        `   ${r.modelUri} in ONNX Runtime: churn probability ${num(r.score.online)} (from the offline row: ${num(r.score.offline)})`,
      ].join('\n');
    }
  }
}
