/**
 * The governance policy from keel.yaml: the seed's checklist by default, validation that names
 * the bad field, and one line per gate.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_POLICY, describeGate, parsePolicy } from '../../src/registry/index.js';

describe('governance policy', () => {
  it('defaults to the seed checklist for Production, with approval', () => {
    const policy = parsePolicy(undefined);
    expect(policy).toBe(DEFAULT_POLICY);
    const production = policy.stages.Production!;
    expect(production.requireApproval).toBe(true);
    expect(production.gates.map(describeGate)).toEqual([
      'metric roc_auc >= 0.85',
      'latency p99 < 50 ms',
      'canary >= 7 days and >= 1000 requests in Staging',
      'bias disparate_impact >= 0.8',
      'lineage complete',
      'rollback drill',
    ]);
  });

  it('reads a keel.yaml section and fills defaults', () => {
    const policy = parsePolicy({
      stages: { Staging: { gates: [{ kind: 'bias', metric: 'disparate_impact', min: 0.8, max: 1.25 }] } },
    });
    expect(policy.productionAlias).toBe('champion');
    expect(policy.stages.Staging).toEqual({
      requireApproval: false,
      gates: [{ kind: 'bias', metric: 'disparate_impact', min: 0.8, max: 1.25 }],
    });
    expect(describeGate(policy.stages.Staging!.gates[0])).toBe('bias disparate_impact >= 0.8 and <= 1.25');
    expect(policy.stages.Production).toBeUndefined();
  });

  it('names the bad field of a malformed policy', () => {
    expect(() =>
      parsePolicy({
        stages: { Production: { gates: [{ kind: 'metric', metric: 'auc', op: '~', value: 1 }] } },
      }),
    ).toThrow(/stages\.Production\.gates\.0\.op/);
    expect(() => parsePolicy({ stages: { Live: {} } })).toThrow(/Live/);
    expect(() =>
      parsePolicy({ stages: { Production: { gates: [{ kind: 'bias', metric: 'di' }] } } }),
    ).toThrow(/min, max or both/);
  });
});
