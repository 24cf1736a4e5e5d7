/**
 * @module registry/policy
 * The governance policy: `governance:` in keel.yaml lists, per target stage and per alias, the
 * gates a version must pass and whether a second person must approve. Without a `governance:`
 * section the seed's checklist guards Production and the alias `champion`: servable by Keel, AUC
 * >= 0.85, p99 latency < 50 ms, 7 days and 1,000 requests of canary traffic in Staging with at most 1% failed, disparate
 * impact >= 0.8, complete lineage, a rollback drill, and an approval. The metrics are read from
 * the version's run under the names `evaluateModel` logs them with: `roc_auc` and
 * `disparate_impact`. The production alias (`champion`) and the Production stage move together,
 * so a change of either passes the gates of both (`checklistFor`).
 *
 * Governance covers the way down too (`protection:`): moving a version out of Production, deleting
 * a version or a model that holds Production or a protected alias (the production alias always
 * is), moving or deleting a protected alias, and deleting a model's files need the approver role
 * by default; a rollback needs a writer. Each is audited, applied or refused.
 *
 * @example keel.yaml
 * governance:
 *   productionAlias: champion
 *   stages:
 *     Production:
 *       requireApproval: true
 *       gates:
 *         - { kind: metric, metric: roc_auc, op: '>=', value: 0.85 }
 *         - { kind: latency, maxP99Ms: 50 }
 *   aliases:
 *     challenger: { gates: [{ kind: servable }] }
 *   protection:
 *     leaveProduction: approve      # write | approve | override
 *     aliases: [challenger]
 */
import { z } from 'zod';
import { parseInput } from '../core/index.js';
import type { Stage } from './types.js';

const gateSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('metric'),
    metric: z.string().min(1),
    op: z.enum(['>=', '>', '<=', '<', '=']),
    value: z.number(),
  }),
  z.strictObject({ kind: z.literal('latency'), maxP99Ms: z.number().positive() }),
  z.strictObject({
    kind: z.literal('canary'),
    minDays: z.number().min(0),
    minRequests: z.number().int().min(0),
    /** Most canary requests the version may have failed, as a share (default 0.01). */
    maxErrorRate: z.number().min(0).max(1).optional(),
  }),
  z
    .strictObject({
      kind: z.literal('bias'),
      metric: z.string().min(1),
      min: z.number().optional(),
      max: z.number().optional(),
    })
    .refine((g) => g.min !== undefined || g.max !== undefined, 'a bias gate needs min, max or both'),
  z.strictObject({ kind: z.literal('lineage') }),
  z.strictObject({ kind: z.literal('rollback_drill') }),
  /** Keel can serve the version: it holds an ONNX model that ONNX Runtime loads. */
  z.strictObject({ kind: z.literal('servable') }),
]);
export type Gate = z.infer<typeof gateSchema>;

const stagePolicySchema = z.strictObject({
  requireApproval: z.boolean().default(false),
  gates: z.array(gateSchema).default([]),
});
export type StagePolicy = z.infer<typeof stagePolicySchema>;

/** An alias name a policy may govern: MLflow's alias rules (`latest` and `v<digits>` are reserved). */
const aliasName = z
  .string()
  .regex(/^[\w-]+$/, 'an alias has only letters, digits, _ and -')
  .refine((a) => a.toLowerCase() !== 'latest' && !/^[vV]\d+$/.test(a), 'latest and v<digits> are reserved');

/** Who may take a protected step: a writer, an approver or an admin. */
const protectedBy = z.enum(['write', 'approve', 'override']);

const protectionSchema = z.strictObject({
  /** Moving a version out of Production (to Staging, None or Archived). */
  leaveProduction: protectedBy.default('approve'),
  /** Deleting a version, or a model, holding Production or a protected alias; moving or deleting a protected alias. */
  deleteProtected: protectedBy.default('approve'),
  /** Deleting model files under `models/` that no version holds (the artifact proxy's DELETE). */
  deleteFiles: protectedBy.default('approve'),
  /** Rolling Production back to the version that held it before. */
  rollback: protectedBy.default('write'),
  /** Aliases protected like the production alias, which always is. */
  aliases: z.array(z.string().regex(/^[\w-]+$/)).default([]),
});
export type Protection = z.infer<typeof protectionSchema>;

/** What the way down needs when the policy says nothing. */
export const DEFAULT_PROTECTION: Protection = protectionSchema.parse({});

const policySchema = z.strictObject({
  /** The alias that follows the Production stage; `null` turns it off. */
  productionAlias: z
    .string()
    .regex(/^[\w-]+$/)
    .nullable()
    .default('champion'),
  stages: z
    .strictObject({
      None: stagePolicySchema.optional(),
      Staging: stagePolicySchema.optional(),
      Production: stagePolicySchema.optional(),
      Archived: stagePolicySchema.optional(),
    })
    .default({}),
  /** Gates and approval for pointing an alias at a version, as `stages` has them for a stage. */
  aliases: z.record(aliasName, stagePolicySchema).optional(),
  /** Missing: DEFAULT_PROTECTION. */
  protection: protectionSchema.optional(),
});
export type Policy = z.infer<typeof policySchema>;

/** The policy's protection, its defaults filled (a policy built in code may give only some). */
export const protectionOf = (policy: Policy): Protection => ({ ...DEFAULT_PROTECTION, ...policy.protection });

/** Whether `alias` is protected: the production alias or one the policy lists (any case). */
export function isProtectedAlias(policy: Policy, alias: string): boolean {
  const lower = alias.toLowerCase();
  return (
    policy.productionAlias?.toLowerCase() === lower ||
    protectionOf(policy).aliases.some((a) => a.toLowerCase() === lower)
  );
}

/** The seed's Production checklist, with the `servable` gate first. */
const CHECKLIST: StagePolicy = {
  requireApproval: true,
  gates: [
    { kind: 'servable' },
    { kind: 'metric', metric: 'roc_auc', op: '>=', value: 0.85 },
    { kind: 'latency', maxP99Ms: 50 },
    { kind: 'canary', minDays: 7, minRequests: 1000 },
    { kind: 'bias', metric: 'disparate_impact', min: 0.8 },
    { kind: 'lineage' },
    { kind: 'rollback_drill' },
  ],
};

/** The default policy: the checklist guards Production and the alias `champion` that follows it. */
export const DEFAULT_POLICY: Policy = {
  productionAlias: 'champion',
  stages: { Production: CHECKLIST },
  aliases: { champion: CHECKLIST },
};

/**
 * The policy from keel.yaml's `governance:` section; the default policy when there is none.
 * @throws KeelError INVALID_PARAMETER_VALUE naming the bad field.
 */
export function parsePolicy(governance: unknown): Policy {
  if (governance === undefined || governance === null) return DEFAULT_POLICY;
  return parseInput(policySchema, governance, 'governance policy (keel.yaml governance:)');
}

export function stagePolicy(policy: Policy, stage: Stage): StagePolicy {
  return policy.stages[stage] ?? { requireApproval: false, gates: [] };
}

/** The gates and approval an alias asks for (any case); none when the policy names none. */
export function aliasPolicy(policy: Policy, alias: string): StagePolicy {
  const lower = alias.toLowerCase();
  const key = Object.keys(policy.aliases ?? {}).find((a) => a.toLowerCase() === lower);
  return (key && policy.aliases?.[key]) || { requireApproval: false, gates: [] };
}

/** Whether `alias` is the production alias, which moves with the Production stage both ways. */
export const isProductionAlias = (policy: Policy, alias: string): boolean =>
  policy.productionAlias?.toLowerCase() === alias.toLowerCase();

/**
 * What a change of stage and alias asks for: the target stage's policy, the alias's, and, since
 * the production alias and the Production stage move together, the other one's when either is
 * the target. Gates are merged in order without repeats; approval is needed when any part asks.
 */
export function checklistFor(policy: Policy, move: { stage?: Stage; alias?: string }): StagePolicy {
  const parts: StagePolicy[] = [];
  const production =
    move.stage === 'Production' || (move.alias !== undefined && isProductionAlias(policy, move.alias));
  if (move.stage) parts.push(stagePolicy(policy, move.stage));
  else if (production) parts.push(stagePolicy(policy, 'Production'));
  if (move.alias) parts.push(aliasPolicy(policy, move.alias));
  else if (production && policy.productionAlias) parts.push(aliasPolicy(policy, policy.productionAlias));
  const gates = new Map<string, Gate>();
  for (const gate of parts.flatMap((p) => p.gates)) gates.set(JSON.stringify(gate), gate);
  return { requireApproval: parts.some((p) => p.requireApproval), gates: [...gates.values()] };
}

/** The canary gate's most failed share of canary requests when the policy names none: 1%. */
export const DEFAULT_CANARY_MAX_ERROR_RATE = 0.01;

export const canaryMaxErrorRate = (gate: Extract<Gate, { kind: 'canary' }>): number =>
  gate.maxErrorRate ?? DEFAULT_CANARY_MAX_ERROR_RATE;

/** A share as a percentage without float noise: 0.01 -> `1%`, 0.005 -> `0.5%`. */
export const formatRate = (rate: number): string => `${Number((rate * 100).toPrecision(6))}%`;

/** A gate as one line: `metric auc >= 0.85`, `latency p99 < 50 ms`. */
export function describeGate(gate: Gate): string {
  switch (gate.kind) {
    case 'metric':
      return `metric ${gate.metric} ${gate.op} ${gate.value}`;
    case 'latency':
      return `latency p99 < ${gate.maxP99Ms} ms`;
    case 'canary':
      return `canary >= ${gate.minDays} days, >= ${gate.minRequests} requests and error rate <= ${formatRate(canaryMaxErrorRate(gate))} in Staging`;
    case 'bias': {
      const bounds = [
        gate.min !== undefined ? `>= ${gate.min}` : '',
        gate.max !== undefined ? `<= ${gate.max}` : '',
      ]
        .filter(Boolean)
        .join(' and ');
      return `bias ${gate.metric} ${bounds}`;
    }
    case 'lineage':
      return 'lineage complete';
    case 'rollback_drill':
      return 'rollback drill';
    case 'servable':
      return 'servable by Keel (ONNX)';
  }
}
