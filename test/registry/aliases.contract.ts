/**
 * Aliases are governed, not reserved (issue 16, item 3), on every metadata backend: the policy
 * gives an alias gates and approval as it gives a stage; the production alias `champion` and the
 * Production stage move together, a change of either passing the gates of both, so
 * `models:/x@champion` and `models:/x/Production` always name the same version; `challenger` is
 * free; deleting champion takes the model out of Production, as the way down is governed.
 */
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Policy, Registry } from '../../src/registry/index.js';
import type { Tracking } from '../../src/tracking/index.js';
import { openTestRegistry } from '../helpers/registry.js';
import { type Backend, tempDir } from '../helpers/tracking.js';
import { trainedRun, writeMlflowFolder } from './fixtures.js';

const LINKED: Policy = {
  productionAlias: 'champion',
  stages: {
    Production: {
      requireApproval: true,
      gates: [{ kind: 'metric', metric: 'auc', op: '>=', value: 0.85 }],
    },
  },
  aliases: { champion: { requireApproval: false, gates: [{ kind: 'servable' }] } },
};

export function describeAliasesContract(backend: Backend, postgresUrl?: string): void {
  describe(`governed aliases on ${backend}`, () => {
    let registry: Registry;
    let tracking: Tracking;
    let cleanup: (() => Promise<void>) | undefined;
    async function open(policy: Policy) {
      ({ registry, tracking, cleanup } = await openTestRegistry(backend, postgresUrl, { policy }));
      await registry.models.create('churn');
    }
    afterEach(async () => {
      await cleanup?.();
      cleanup = undefined;
    });

    /** Versions 1 (auc 0.8), 2 (auc 0.93) and 3 (an sklearn model Keel cannot serve). */
    async function threeVersions(): Promise<void> {
      for (const auc of [0.8, 0.93]) {
        const runId = await trainedRun(tracking, { auc, disparate_impact: 0.9 });
        await registry.versions.create({ name: 'churn', source: `runs:/${runId}/model` });
      }
      const sk = join(tempDir(), 'sk');
      writeMlflowFolder(sk, 'sklearn');
      await registry.versions.create({ name: 'churn', source: sk });
    }

    const agree = async (expected: string | undefined) => {
      const alias = await registry
        .resolveModelUri('models:/churn@champion', { verify: false })
        .catch((e) => e);
      const stage = await registry
        .resolveModelUri('models:/churn/Production', { verify: false })
        .catch((e) => e);
      if (expected === undefined) {
        expect(alias).toMatchObject({ code: 'RESOURCE_DOES_NOT_EXIST' });
        expect(stage).toMatchObject({ code: 'RESOURCE_DOES_NOT_EXIST' });
      } else {
        expect(alias.version.version).toBe(expected);
        expect(stage.version.version).toBe(expected);
      }
    };

    it('runs the gates of champion and of Production, files one approval request, and moves both views', async () => {
      await open(LINKED);
      await threeVersions();
      const alice = registry.as({ user: 'alice', role: 'writer' });
      const bob = registry.as({ user: 'bob', role: 'approver' });

      const weak = await alice.setAlias('churn', 'champion', 1).catch((e) => e);
      expect(weak).toMatchObject({ code: 'FAILED_PRECONDITION' });
      expect(weak.message).toBe(
        "Version 1 of 'churn' cannot take alias 'champion' (and Production): failed gate 'metric auc >= 0.85'",
      );
      // Both checklists, merged: Production's metric and champion's servable gate.
      expect(weak.details.gates.map((g: { gate: string; passed: boolean }) => [g.gate, g.passed])).toEqual([
        ['metric auc >= 0.85', false],
        ['servable by Keel (ONNX)', true],
      ]);
      expect(weak.details.report).toContain('FAIL  metric auc >= 0.85: auc = 0.8');
      const sk = await alice.setAlias('churn', 'CHAMPION', 3).catch((e) => e);
      expect(
        sk.details.gates.filter((g: { passed: boolean }) => !g.passed).map((g: { gate: string }) => g.gate),
      ).toEqual(['metric auc >= 0.85', 'servable by Keel (ONNX)']);
      await agree(undefined);

      const pending = await alice.setAlias('churn', 'champion', 2);
      expect(pending).toMatchObject({
        status: 'pending_approval',
        alias: 'champion',
        from: 'None',
        to: 'Production',
      });
      expect(pending.gates.every((g) => g.passed)).toBe(true);
      // Asking again finds the same request waiting, as does the same change asked as a promotion... of the alias.
      expect((await alice.setAlias('churn', 'champion', 2)).request_id).toBe(pending.request_id);
      const waiting = await registry.promotions.requests('churn', 'pending');
      expect(waiting.map((r) => [r.id, r.version, r.to_stage, r.alias])).toEqual([
        [pending.request_id, '2', 'Production', 'champion'],
      ]);
      await agree(undefined);
      expect((await registry.versions.get('churn', 2)).current_stage).toBe('None');

      const done = await bob.approve(pending.request_id!, 'ship it');
      expect(done).toMatchObject({ status: 'promoted', alias: 'champion', from: 'None', to: 'Production' });
      await agree('2');
      expect((await registry.versions.get('churn', 2)).aliases).toEqual(['champion']);
      const audit = (await registry.audit.list('churn')).filter(
        (e) => e.outcome !== 'refused' || e.action === 'alias_set',
      );
      expect(audit.slice(-3).map((e) => [e.action, e.outcome, e.actor, e.version, e.to])).toEqual([
        ['approval_requested', 'pending', 'alice', '2', 'champion'],
        ['approve', 'applied', 'bob', '2', 'Production'],
        ['alias_set', 'applied', 'bob', '2', 'champion'],
      ]);

      // challenger is free: no gate, no approval, no stage change.
      const challenger = await alice.setAlias('churn', 'challenger', 1);
      expect(challenger).toMatchObject({ status: 'promoted', from: 'None', to: 'None', gates: [] });
      expect((await registry.getByAlias('churn', 'challenger')).version).toBe('1');

      // A promotion moves champion too: Production's gates and champion's, then the approval.
      const admin = registry.as({ user: 'dana', role: 'admin' });
      const overridden = await admin.promote('churn', 1, 'Production', { override: true, reason: 'hotfix' });
      expect(overridden.gates.map((g) => g.gate)).toEqual(['metric auc >= 0.85', 'servable by Keel (ONNX)']);
      await bob.approve(overridden.request_id!);
      await agree('1');
      expect((await registry.versions.get('churn', 2)).current_stage).toBe('Archived');
      // The rollback moves both views back.
      await alice.rollback('churn');
      await agree('2');

      // Deleting champion takes the model out of Production: the way down needs an approver.
      await expect(alice.deleteAlias('churn', 'champion')).rejects.toMatchObject({
        code: 'PERMISSION_DENIED',
      });
      await agree('2');
      await bob.deleteAlias('churn', 'Champion');
      await agree(undefined);
      expect((await registry.versions.get('churn', 2)).current_stage).toBe('Archived');
      await expect(bob.deleteAlias('churn', 'champion')).rejects.toMatchObject({
        code: 'RESOURCE_DOES_NOT_EXIST',
      });
      await expect(bob.deleteAlias('churn', 'nope')).rejects.toMatchObject({
        code: 'RESOURCE_DOES_NOT_EXIST',
      });
    });

    it('governs any alias the policy names; without a production alias champion leaves the stages alone', async () => {
      await open({
        productionAlias: null,
        stages: {},
        aliases: { champion: { requireApproval: false, gates: [{ kind: 'servable' }] } },
        protection: {
          leaveProduction: 'approve',
          deleteProtected: 'approve',
          deleteFiles: 'approve',
          rollback: 'write',
          aliases: ['shadow'],
        },
      });
      await threeVersions();
      const alice = registry.as({ user: 'alice', role: 'writer' });
      await expect(alice.setAlias('churn', 'champion', 3)).rejects.toMatchObject({
        code: 'FAILED_PRECONDITION',
      });
      const set = await alice.setAlias('churn', 'champion', 2);
      expect(set).toMatchObject({ status: 'promoted', from: 'None', to: 'None' });
      expect((await registry.versions.get('churn', 2)).current_stage).toBe('None');
      await expect(registry.resolveModelUri('models:/churn/Production')).rejects.toMatchObject({
        code: 'RESOURCE_DOES_NOT_EXIST',
      });
      // A protected alias still needs its role to move, and the refusal is audited.
      await expect(alice.setAlias('churn', 'shadow', 1)).rejects.toMatchObject({ code: 'PERMISSION_DENIED' });
      expect((await registry.audit.list('churn')).at(-1)).toMatchObject({
        action: 'alias_set',
        outcome: 'refused',
        actor: 'alice',
      });
      await registry.setAlias('churn', 'shadow', 1);
      await alice.deleteAlias('churn', 'champion');
      for (const bad of ['latest', 'v2', 'a b']) {
        await expect(registry.setAlias('churn', bad, 1)).rejects.toMatchObject({
          code: 'INVALID_PARAMETER_VALUE',
        });
      }
      await expect(registry.setAlias('churn', 'x', 9)).rejects.toMatchObject({
        code: 'RESOURCE_DOES_NOT_EXIST',
      });
    });
  });
}
