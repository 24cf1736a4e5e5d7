/**
 * The governance policy from keel.yaml: the seed's checklist by default (on Production and on the
 * alias champion), validation that names the bad field, one line per gate, and what a change of
 * stage or alias asks for.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_POLICY, describeGate, parsePolicy } from '../../src/registry/index.js';
import { checklistFor } from '../../src/registry/policy.js';

describe('governance policy', () => {
  it('defaults to the seed checklist for Production and champion, with approval; challenger is free', () => {
    const policy = parsePolicy(undefined);
    expect(policy).toBe(DEFAULT_POLICY);
    const production = policy.stages.Production!;
    expect(production.requireApproval).toBe(true);
    expect(policy.aliases?.champion).toEqual(production);
    expect(production.gates.map(describeGate)).toEqual([
      'servable by Keel (ONNX)',
      'metric roc_auc >= 0.85',
      'latency p99 < 50 ms',
      'canary >= 7 days, >= 1000 requests and error rate <= 1% in Staging',
      'bias disparate_impact >= 0.8',
      'lineage complete',
      'rollback drill',
    ]);
    // Production and champion move together: one checklist, not two.
    expect(checklistFor(policy, { alias: 'champion', stage: 'Production' })).toEqual(production);
    expect(checklistFor(policy, { stage: 'Production' })).toEqual(production);
    expect(checklistFor(policy, { alias: 'challenger' })).toEqual({ requireApproval: false, gates: [] });
  });

  it('governs aliases as stages, and a change of Production or its alias passes the gates of both', () => {
    const policy = parsePolicy({
      stages: { Production: { gates: [{ kind: 'latency', maxP99Ms: 20 }] } },
      aliases: {
        champion: { requireApproval: true, gates: [{ kind: 'servable' }, { kind: 'latency', maxP99Ms: 20 }] },
        challenger: { gates: [{ kind: 'servable' }] },
      },
    });
    expect(policy.aliases?.challenger).toEqual({ requireApproval: false, gates: [{ kind: 'servable' }] });
    const both = { requireApproval: true, gates: [{ kind: 'latency', maxP99Ms: 20 }, { kind: 'servable' }] };
    expect(checklistFor(policy, { stage: 'Production' })).toEqual(both);
    expect(checklistFor(policy, { alias: 'CHAMPION' })).toEqual(both);
    expect(checklistFor(policy, { alias: 'challenger' }).gates).toEqual([{ kind: 'servable' }]);
    // Without a production alias, champion is an alias like any other.
    const unlinked = parsePolicy({ ...policy, productionAlias: null });
    expect(checklistFor(unlinked, { stage: 'Production' }).requireApproval).toBe(false);
    expect(() => parsePolicy({ aliases: { latest: {} } })).toThrow(/aliases\.latest/);
    expect(() => parsePolicy({ aliases: { 'a b': {} } })).toThrow(/aliases/);
    expect(() => parsePolicy({ aliases: { champion: { gates: [{ kind: 'servable', x: 1 }] } } })).toThrow(
      /aliases\.champion\.gates\.0/,
    );
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
