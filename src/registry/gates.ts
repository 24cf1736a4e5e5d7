/**
 * @module registry/gates
 * Evaluates a stage's gates against one version and returns every result with its evidence: the
 * figures a reviewer needs to see why a gate passed or failed. Evaluation only reads; the
 * rollback drill rehearses its rollback inside a transaction that it always rolls back.
 */
import type { Run } from '../tracking/index.js';
import { dryRun } from './benchmark.js';
import { SERVABLE_FIX, servedModelPath } from './contents.js';
import type { RegistryContext } from './context.js';
import { verifiedLocalFile, verifyFiles } from './files.js';
import { canaryMaxErrorRate, describeGate, formatRate, type Gate } from './policy.js';
import type { VersionRow } from './rows.js';
import { packageOf } from './rows.js';
import { missingLineage } from './source.js';
import type { Stage } from './types.js';

export interface GateResult {
  gate: string;
  kind: Gate['kind'];
  passed: boolean;
  message: string;
  /** For a failed gate: what would satisfy it, with the command to run where there is one. */
  fix?: string;
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

const isoDay = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

/** The command that serves `uri` as a canary: beside Production when there is one, alone otherwise. */
function canaryCommand(name: string, version: number, replaced: VersionRow | undefined): string {
  const canary = `models:/${name}/${version}`;
  return replaced
    ? `keel serve --model models:/${name}@champion --canary ${canary} --canary-percent 10`
    : `keel serve --model ${canary} --canary ${canary} --canary-percent 100`;
}

async function evaluate(
  ctx: RegistryContext,
  gate: Gate,
  s: Subject,
  rehearse: RollbackRehearsal,
): Promise<Omit<GateResult, 'gate' | 'kind'>> {
  const pkg = packageOf(s.row);
  switch (gate.kind) {
    case 'servable':
      return pkg.servable
        ? {
            passed: true,
            message: `serves ${pkg.model_path?.slice(pkg.folder.length + 1)}`,
            evidence: { servable: true, flavors: pkg.flavors },
          }
        : {
            passed: false,
            message: pkg.not_servable ?? 'it holds no ONNX model',
            fix: SERVABLE_FIX,
            evidence: { servable: false, flavors: pkg.flavors },
          };
    case 'metric':
    case 'bias': {
      const value = runMetric(s.run, gate.metric);
      const uri = `models:/${s.row.name}/${s.row.version}`;
      const evaluate = `keel evaluate --model ${uri} --data <labelled test file>${gate.kind === 'bias' ? ' --sensitive <column>' : ''}`;
      if (!s.run)
        return {
          passed: false,
          message: 'the version has no training run to read metrics from',
          fix: 'register the model from its training run (keel models register <name> runs:/<run id>/model), then evaluate it into that run',
          evidence: {},
        };
      const evidence = { run_id: s.run.info.run_id, metric: gate.metric, value: value ?? null };
      if (value === undefined || Number.isNaN(value)) {
        return {
          passed: false,
          message: `run ${s.run.info.run_id} has no metric '${gate.metric}'`,
          fix: `log it into the version's run: ${evaluate}`,
          evidence,
        };
      }
      const passed =
        gate.kind === 'metric'
          ? compare[gate.op](value, gate.value)
          : (gate.min === undefined || value >= gate.min) && (gate.max === undefined || value <= gate.max);
      return {
        passed,
        message: `${gate.metric} = ${value}`,
        ...(passed
          ? {}
          : {
              fix: `a version whose run has ${describeGate(gate).replace(/^(metric|bias) /, '')}: train a better model, register it and promote that version${gate.kind === 'bias' ? ' (the figure is the lowest selection-rate ratio between the groups of a sensitive column)' : ''}`,
            }),
        evidence,
      };
    }
    case 'latency': {
      const b = pkg.benchmark;
      const bench = `keel models benchmark ${s.row.name} ${s.row.version}`;
      if (!b) return { passed: false, message: 'not measured', fix: `measure it: ${bench}`, evidence: {} };
      const passed = b.p99_ms < gate.maxP99Ms;
      return {
        passed,
        message: `p99 = ${b.p99_ms} ms (batch ${b.batch_size}, ${b.iterations} calls)`,
        ...(passed
          ? {}
          : {
              fix: `a faster model (fewer or shallower trees), or measure again on a quieter machine: ${bench}`,
            }),
        evidence: { ...b },
      };
    }
    case 'canary': {
      const days = s.row.current_stage === 'Staging' ? (ctx.clock.now() - s.row.stage_since) / DAY_MS : 0;
      const requests = pkg.canary?.requests ?? 0;
      const errors = pkg.canary?.errors ?? 0;
      const maxRate = canaryMaxErrorRate(gate);
      // No traffic, no rate: the request count is what fails then.
      const rate = requests > 0 ? errors / requests : 0;
      const evidence = {
        stage: s.row.current_stage,
        days_in_staging: Math.round(days * 100) / 100,
        canary_requests: requests,
        canary_errors: errors,
        canary_error_rate: Math.round(rate * 1e6) / 1e6,
        max_error_rate: maxRate,
      };
      const passed =
        s.row.current_stage === 'Staging' &&
        days >= gate.minDays &&
        requests >= gate.minRequests &&
        rate <= maxRate;
      const message =
        s.row.current_stage !== 'Staging'
          ? `the version is in ${s.row.current_stage}, not Staging`
          : `${evidence.days_in_staging} days in Staging, ${requests} canary requests, ${errors} failed (${formatRate(evidence.canary_error_rate)})`;
      if (passed) return { passed, message, evidence };
      const serve = canaryCommand(s.row.name, s.row.version, s.replaced);
      const wants: string[] = [];
      if (s.row.current_stage !== 'Staging') {
        wants.push(`put it in Staging (keel models promote ${s.row.name} ${s.row.version} --to Staging)`);
      }
      const since = s.row.current_stage === 'Staging' ? s.row.stage_since : ctx.clock.now();
      if (days < gate.minDays) wants.push(`stay in Staging until ${isoDay(since + gate.minDays * DAY_MS)}`);
      if (requests < gate.minRequests) {
        wants.push(`serve ${gate.minRequests - requests} more requests as a canary (${serve})`);
      }
      if (rate > maxRate)
        wants.push(
          `its canary failed ${formatRate(evidence.canary_error_rate)} of its requests, above ${formatRate(maxRate)}: find why in the server's log (keel_http_requests_total by status), fix the model and register a new version`,
        );
      return { passed, message, fix: wants.join('; '), evidence };
    }
    case 'lineage': {
      const missing = missingLineage(pkg.lineage);
      return {
        passed: missing.length === 0,
        message:
          missing.length === 0
            ? 'run, datasets, code commit and pipeline lock recorded'
            : `missing: ${missing.map((m) => m.part).join(', ')}`,
        ...(missing.length === 0 ? {} : { fix: missing.map((m) => `${m.part}: ${m.fix}`).join('; ') }),
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
        const oldFile = servedModelPath(s.replaced);
        await verifyFiles(ctx, s.replaced);
        await dryRun(await verifiedLocalFile(ctx, s.replaced, oldFile), old.signature);
        evidence.loads = true;
        const { restored } = await rehearse(s.row.name, Number(s.row.version));
        evidence.dry_run_restores = restored === undefined ? null : String(restored);
        const passed = restored === Number(old.version);
        return {
          passed,
          message: passed
            ? `version ${old.version} loads and a dry-run rollback restores it`
            : 'the dry-run rollback did not restore it',
          ...(passed
            ? {}
            : {
                fix: `check version ${old.version} of ${s.row.name} (keel models show ${s.row.name} ${old.version})`,
              }),
          evidence,
        };
      } catch (err) {
        return {
          passed: false,
          message: `version ${old.version} failed the drill: ${(err as Error).message}`,
          fix: `version ${old.version} must load for a rollback to it to work: fix or re-register it, or archive it first`,
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
  return results
    .flatMap((r) => [
      `  ${r.passed ? 'PASS' : 'FAIL'}  ${r.gate}: ${r.message}`,
      ...(r.fix ? [`        to pass: ${r.fix}`] : []),
    ])
    .join('\n');
}
