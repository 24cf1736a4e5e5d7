/**
 * @module registry/gates
 * Evaluates a stage's gates against one version and returns every result with its evidence: the
 * figures a reviewer needs to see why a gate passed or failed. Evaluation only reads; the
 * rollback drill rehearses its rollback inside a transaction that it always rolls back.
 */
import type { Run } from '../tracking/index.js';
import { dryRun } from './benchmark.js';
import type { RegistryContext } from './context.js';
import { verifyFiles } from './files.js';
import { describeGate, type Gate } from './policy.js';
import type { VersionRow } from './rows.js';
import { packageOf } from './rows.js';
import { missingLineage } from './source.js';
import type { Stage } from './types.js';

export interface GateResult {
  gate: string;
  kind: Gate['kind'];
  passed: boolean;
  message: string;
  evidence: Record<string, unknown>;
}

const DAY_MS = 86_400_000;

/** What the drill needs from the promotion code: rehearse a rollback after promoting `version`. */
export type RollbackRehearsal = (name: string, version: number) => Promise<{ restored: number | undefined }>;

interface Subject {
  row: VersionRow;
  run: Run | undefined;
  stage: Stage;
  /** The Production version this promotion would replace, if any. */
  replaced: VersionRow | undefined;
}

const compare: Record<string, (a: number, b: number) => boolean> = {
  '>=': (a, b) => a >= b,
  '>': (a, b) => a > b,
  '<=': (a, b) => a <= b,
  '<': (a, b) => a < b,
  '=': (a, b) => a === b,
};

function runMetric(run: Run | undefined, key: string): number | undefined {
  return run?.data.metrics.find((m) => m.key === key)?.value;
}

async function evaluate(
  ctx: RegistryContext,
  gate: Gate,
  s: Subject,
  rehearse: RollbackRehearsal,
): Promise<Omit<GateResult, 'gate' | 'kind'>> {
  const pkg = packageOf(s.row);
  switch (gate.kind) {
    case 'metric':
    case 'bias': {
      const value = runMetric(s.run, gate.metric);
      if (!s.run)
        return {
          passed: false,
          message: 'the version has no training run to read metrics from',
          evidence: {},
        };
      const evidence = { run_id: s.run.info.run_id, metric: gate.metric, value: value ?? null };
      if (value === undefined || Number.isNaN(value)) {
        return {
          passed: false,
          message: `run ${s.run.info.run_id} has no metric '${gate.metric}'`,
          evidence,
        };
      }
      const passed =
        gate.kind === 'metric'
          ? compare[gate.op](value, gate.value)
          : (gate.min === undefined || value >= gate.min) && (gate.max === undefined || value <= gate.max);
      return { passed, message: `${gate.metric} = ${value}`, evidence };
    }
    case 'latency': {
      const b = pkg.benchmark;
      if (!b)
        return { passed: false, message: 'not measured: run `keel models benchmark` first', evidence: {} };
      return {
        passed: b.p99_ms < gate.maxP99Ms,
        message: `p99 = ${b.p99_ms} ms (batch ${b.batch_size}, ${b.iterations} calls)`,
        evidence: { ...b },
      };
    }
    case 'canary': {
      const days = s.row.current_stage === 'Staging' ? (ctx.clock.now() - s.row.stage_since) / DAY_MS : 0;
      const requests = pkg.canary?.requests ?? 0;
      const evidence = {
        stage: s.row.current_stage,
        days_in_staging: Math.round(days * 100) / 100,
        canary_requests: requests,
      };
      const passed =
        s.row.current_stage === 'Staging' && days >= gate.minDays && requests >= gate.minRequests;
      const message =
        s.row.current_stage !== 'Staging'
          ? `the version is in ${s.row.current_stage}, not Staging`
          : `${evidence.days_in_staging} days in Staging, ${requests} canary requests`;
      return { passed, message, evidence };
    }
    case 'lineage': {
      const missing = missingLineage(pkg.lineage);
      return {
        passed: missing.length === 0,
        message:
          missing.length === 0
            ? 'run, datasets, code commit and pipeline lock recorded'
            : `missing: ${missing.join(', ')}`,
        evidence: { ...pkg.lineage },
      };
    }
    case 'rollback_drill': {
      if (s.stage !== 'Production' || !s.replaced) {
        return {
          passed: true,
          message: 'no Production version to replace: nothing to roll back to',
          evidence: { replaces: null },
        };
      }
      const old = packageOf(s.replaced);
      const evidence: Record<string, unknown> = { replaces: old.version };
      try {
        await verifyFiles(ctx, s.replaced);
        await dryRun(ctx.artifacts.localPath(old.model_path), old.signature);
        evidence.loads = true;
        const { restored } = await rehearse(s.row.name, Number(s.row.version));
        evidence.dry_run_restores = restored === undefined ? null : String(restored);
        const passed = restored === Number(old.version);
        return {
          passed,
          message: passed
            ? `version ${old.version} loads and a dry-run rollback restores it`
            : 'the dry-run rollback did not restore it',
          evidence,
        };
      } catch (err) {
        return {
          passed: false,
          message: `version ${old.version} failed the drill: ${(err as Error).message}`,
          evidence,
        };
      }
    }
  }
}

/** Every gate's result, in the policy's order. */
export async function evaluateGates(
  ctx: RegistryContext,
  gates: Gate[],
  subject: Subject,
  rehearse: RollbackRehearsal,
): Promise<GateResult[]> {
  const results: GateResult[] = [];
  for (const gate of gates) {
    results.push({
      gate: describeGate(gate),
      kind: gate.kind,
      ...(await evaluate(ctx, gate, subject, rehearse)),
    });
  }
  return results;
}

/** Gate results as text: one line per gate with PASS/FAIL and its figures. */
export function formatGates(results: GateResult[]): string {
  return results.map((r) => `  ${r.passed ? 'PASS' : 'FAIL'}  ${r.gate}: ${r.message}`).join('\n');
}
