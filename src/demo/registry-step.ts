/**
 * @module demo/registry-step
 * Step 4: the run's ONNX model becomes a registered version (lineage read from the run), goes to
 * Staging, and then tries Production. The seed's Production checklist asks for evidence a fresh
 * model cannot have yet (a week of canary traffic, an approval, a pipeline lock), so the attempt
 * is refused: the demo shows each gate's verdict and that the stage did not change.
 */
import { isKeelError } from '../core/index.js';
import type { GateResult, Lineage, Registry } from '../registry/index.js';

export interface RegistryStep {
  name: string;
  version: string;
  stage: string;
  lineage: Lineage;
  /** p99 latency in ONNX Runtime, measured for the latency gate (ms). */
  p99Ms: number;
  production: {
    promoted: boolean;
    message: string;
    gates: GateResult[];
    failed: string[];
    /** Whether the policy also wants a second person's approval once the gates pass. */
    approvalRequired: boolean;
    /** The version's stage after the attempt. */
    stageAfter: string;
  };
}

/** Registers `source` as a new version of `name` (creating the model when missing) and promotes it. */
export async function registerAndPromote(
  registry: Registry,
  name: string,
  source: { uri: string; runId: string; features: string[] },
): Promise<RegistryStep> {
  const exists = await registry.models.get(name).then(
    () => true,
    (err) => (isKeelError(err, 'RESOURCE_DOES_NOT_EXIST') ? false : Promise.reject(err)),
  );
  if (!exists) {
    await registry.models.create(name, { description: 'Churn in the next 90 days (examples/churn)' });
  }
  const created = await registry.versions.create({
    name,
    source: source.uri,
    runId: source.runId,
    features: source.features,
    description: 'GBDT trained by keel demo',
  });
  const version = created.version;
  await registry.promote(name, version, 'Staging');
  const bench = await registry.benchmark(name, version, { iterations: 200 });
  let production: Omit<RegistryStep['production'], 'stageAfter' | 'approvalRequired'>;
  try {
    const result = await registry.promote(name, version, 'Production');
    production = {
      promoted: result.status === 'promoted',
      message: result.status,
      gates: result.gates,
      failed: [],
    };
  } catch (err) {
    if (!isKeelError(err, 'FAILED_PRECONDITION')) throw err;
    const gates = (err.details?.gates ?? []) as GateResult[];
    production = {
      promoted: false,
      message: err.message,
      gates,
      failed: gates.filter((g) => !g.passed).map((g) => g.gate),
    };
  }
  const after = await registry.versions.get(name, version);
  const pkg = await registry.versions.getPackage(name, version);
  return {
    name,
    version,
    stage: 'Staging',
    lineage: pkg.lineage,
    p99Ms: bench.p99_ms,
    production: {
      ...production,
      approvalRequired: registry.policy.stages.Production?.requireApproval ?? false,
      stageAfter: after.current_stage,
    },
  };
}
