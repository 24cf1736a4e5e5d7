/**
 * The registry contract, run on every metadata backend (SQLite always, PostgreSQL whenever it
 * answers and always under CI=true).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/index.js';
import { DEFAULT_POLICY, type Policy, type Registry, SERVING_REFUSED_TAG } from '../../src/registry/index.js';
import { artifactUriToPath, type Tracking } from '../../src/tracking/index.js';
import { writeLogisticModel } from '../helpers/onnx.js';
import { openTestRegistry } from '../helpers/registry.js';
import { type Backend, tempDir } from '../helpers/tracking.js';
import { trainedRun } from './fixtures.js';

const DAY = 86_400_000;

const GATED: Policy = {
  productionAlias: 'champion',
  stages: {
    Production: {
      requireApproval: true,
      gates: [
        { kind: 'metric', metric: 'auc', op: '>=', value: 0.85 },
        { kind: 'canary', minDays: 7, minRequests: 100 },
        { kind: 'bias', metric: 'disparate_impact', min: 0.8 },
        { kind: 'lineage' },
        { kind: 'rollback_drill' },
      ],
    },
  },
};

export function describeRegistryContract(backend: Backend, postgresUrl?: string): void {
  describe(`registry on ${backend}`, () => {
    let registry: Registry;
    let tracking: Tracking;
    let cleanup: () => Promise<void>;
    const clock = new ManualClock(1_700_000_000_000);

    async function open(policy?: Policy) {
      await cleanup?.();
      ({ registry, tracking, cleanup } = await openTestRegistry(backend, postgresUrl, { clock, policy }));
    }
    beforeEach(() => open());
    afterEach(async () => {
      await cleanup();
      cleanup = undefined as unknown as () => Promise<void>;
    });

    it('creates, renames, describes, tags, searches and deletes registered models', async () => {
      await registry.models.create('churn', {
        description: 'who leaves',
        tags: [{ key: 'team', value: 'growth' }],
      });
      await registry.models.create('fraud');
      await expect(registry.models.create('churn')).rejects.toMatchObject({
        code: 'RESOURCE_ALREADY_EXISTS',
      });
      await expect(registry.models.create('a/b')).rejects.toMatchObject({ code: 'INVALID_PARAMETER_VALUE' });
      await registry.models.rename('churn', 'churn-v2');
      await registry.models.updateDescription('churn-v2', 'customers who leave');
      await registry.models.setTag('churn-v2', 'owner', 'alice');
      const m = await registry.models.get('churn-v2');
      expect(m).toMatchObject({
        name: 'churn-v2',
        description: 'customers who leave',
        latest_versions: [],
        aliases: [],
      });
      expect(m.tags).toEqual([
        { key: 'owner', value: 'alice' },
        { key: 'team', value: 'growth' },
      ]);
      expect(
        (await registry.models.search({ filter: "name LIKE 'churn%'" })).items.map((x) => x.name),
      ).toEqual(['churn-v2']);
      expect(
        (await registry.models.search({ filter: "tags.team = 'growth'" })).items.map((x) => x.name),
      ).toEqual(['churn-v2']);
      const page1 = await registry.models.search({ maxResults: 1 });
      expect(page1.items.map((x) => x.name)).toEqual(['churn-v2']);
      const page2 = await registry.models.search({ maxResults: 1, pageToken: page1.next_page_token });
      expect(page2.items.map((x) => x.name)).toEqual(['fraud']);
      expect(page2.next_page_token).toBeUndefined();
      await expect(registry.models.search({ filter: 'metrics.auc > 1' })).rejects.toMatchObject({
        code: 'INVALID_PARAMETER_VALUE',
      });
      await registry.models.deleteTag('churn-v2', 'owner');
      await registry.models.delete('fraud');
      await expect(registry.models.get('fraud')).rejects.toMatchObject({ code: 'RESOURCE_DOES_NOT_EXIST' });
    });

    it('registers versions from a run and from an uploaded ONNX file, with signature and lineage', async () => {
      await registry.models.create('churn');
      const runId = await trainedRun(tracking);
      const v1 = await registry.versions.create({
        name: 'churn',
        source: `runs:/${runId}/model`,
        features: ['customer_stats:recency'],
      });
      expect(v1).toMatchObject({
        name: 'churn',
        version: '1',
        current_stage: 'None',
        status: 'READY',
        run_id: runId,
      });
      const pkg = await registry.versions.getPackage('churn', 1);
      expect(pkg.model_path).toBe('models/churn/1/model.onnx');
      expect(pkg.signature).toEqual({
        inputs: [{ name: 'features', type: 'float32', shape: ['N', 3] }],
        outputs: [{ name: 'probability', type: 'float32', shape: ['N', 1] }],
      });
      expect(pkg.features).toEqual(['customer_stats:recency']);
      expect(pkg.lineage).toEqual({
        run_id: runId,
        datasets: [{ name: 'train', digest: 'd1g3st' }],
        feature_views: ['customer_stats@2'],
        pipeline_lock_hash: 'lock-9f',
        code_commit: 'abc123',
      });
      const upload = writeLogisticModel(tempDir(), [1, 1, 1], 'foreign.onnx');
      const v2 = await registry.versions.create({
        name: 'churn',
        source: upload,
        tags: [{ key: 'origin', value: 'sklearn' }],
      });
      expect(v2.version).toBe('2');
      expect(v2.tags).toEqual([
        { key: 'keel.servable', value: 'true' },
        { key: 'origin', value: 'sklearn' },
      ]);
      expect(await registry.versions.downloadUri('churn', 2)).toBe('mlflow-artifacts:/models/churn/2');

      const junk = join(tempDir(), 'not-a-model.onnx');
      writeFileSync(junk, 'this is not protobuf');
      const err = await registry.versions.create({ name: 'churn', source: junk }).catch((e) => e);
      expect(err).toMatchObject({ code: 'INVALID_PARAMETER_VALUE' });
      expect(err.message).toContain(junk);
      await expect(registry.versions.create({ name: 'nope', source: upload })).rejects.toMatchObject({
        code: 'RESOURCE_DOES_NOT_EXIST',
      });
      expect(
        (await registry.versions.search({ filter: "name = 'churn'" })).items.map((v) => v.version),
      ).toEqual(['2', '1']);
      expect(
        (await registry.versions.search({ filter: `run_id = '${runId}'` })).items.map((v) => v.version),
      ).toEqual(['1']);
      expect(
        (await registry.versions.search({ filter: "tags.origin = 'sklearn'" })).items.map((v) => v.version),
      ).toEqual(['2']);
      await registry.versions.updateDescription('churn', 1, 'first');
      await registry.versions.setTag('churn', 1, 'validated', 'yes');
      await registry.versions.deleteTag('churn', 1, 'validated');
      expect(await registry.versions.get('churn', 1)).toMatchObject({
        description: 'first',
        tags: [{ key: 'keel.servable', value: 'true' }],
      });
      for (const change of [
        () => registry.versions.setTag('churn', 1, 'keel.servable', 'false'),
        () => registry.versions.deleteTag('churn', 1, 'keel.servable'),
        () =>
          registry.versions.create({
            name: 'churn',
            source: upload,
            tags: [{ key: 'keel.servable', value: 'x' }],
          }),
      ])
        await expect(change()).rejects.toMatchObject({ code: 'INVALID_PARAMETER_VALUE' });
      await registry.versions.delete('churn', 2);
      await expect(registry.versions.get('churn', 2)).rejects.toMatchObject({
        code: 'RESOURCE_DOES_NOT_EXIST',
      });
      await expect(registry.versions.get('churn', 'x')).rejects.toMatchObject({
        code: 'INVALID_PARAMETER_VALUE',
      });
    });

    it('moves stages with archive_existing, keeps aliases by the rules and resolves model URIs', async () => {
      await registry.models.create('churn');
      const file = writeLogisticModel(tempDir());
      for (let i = 0; i < 3; i++) await registry.versions.create({ name: 'churn', source: file });
      await registry.promote('churn', 1, 'Production');
      await registry.promote('churn', 2, 'production', { archiveExisting: false });
      expect((await registry.latestVersions('churn', ['Production'])).map((v) => v.version)).toEqual(['2']);
      expect((await registry.versions.search({ filter: "current_stage = 'Production'" })).items).toHaveLength(
        2,
      );
      await registry.promote('churn', 3, 'Production', { archiveExisting: true });
      const stages = (await registry.versions.search({ filter: "name = 'churn'" })).items.map((v) => [
        v.version,
        v.current_stage,
      ]);
      expect(stages).toEqual([
        ['3', 'Production'],
        ['2', 'Archived'],
        ['1', 'Archived'],
      ]);
      await expect(registry.promote('churn', 3, 'Live')).rejects.toMatchObject({
        code: 'INVALID_PARAMETER_VALUE',
      });

      for (const bad of ['latest', 'LATEST', 'v3', 'V12', 'has space', 'x'.repeat(256)]) {
        await expect(registry.setAlias('churn', bad, 1)).rejects.toMatchObject({
          code: 'INVALID_PARAMETER_VALUE',
        });
      }
      await registry.setAlias('churn', 'challenger', 1);
      await registry.setAlias('churn', 'challenger', 2);
      expect((await registry.getByAlias('churn', 'challenger')).version).toBe('2');
      expect((await registry.versions.get('churn', 1)).aliases).toEqual([]);
      expect((await registry.models.get('churn')).aliases).toEqual([
        { alias: 'challenger', version: '2' },
        { alias: 'champion', version: '3' },
      ]);
      expect((await registry.resolveModelUri('models:/churn/1')).version.version).toBe('1');
      expect((await registry.resolveModelUri('models:/churn@challenger')).version.version).toBe('2');
      const prod = await registry.resolveModelUri('models:/churn/Production');
      expect(prod.version.version).toBe('3');
      expect(prod.modelFile.endsWith(join('models', 'churn', '3', 'model.onnx'))).toBe(true);
      expect((await registry.resolveModelUri('models:/churn@champion')).version.version).toBe('3');
      await expect(registry.resolveModelUri('models:/churn/Staging')).rejects.toMatchObject({
        code: 'RESOURCE_DOES_NOT_EXIST',
      });
      await expect(registry.resolveModelUri('churn/3')).rejects.toMatchObject({
        code: 'INVALID_PARAMETER_VALUE',
      });
      await registry.deleteAlias('churn', 'challenger');
      await expect(registry.getByAlias('churn', 'challenger')).rejects.toMatchObject({
        code: 'RESOURCE_DOES_NOT_EXIST',
      });
    });

    it('registers a version from an MLflow 3 logged model (models:/m-...), its run giving the lineage', async () => {
      await registry.models.create('churn');
      const runId = await trainedRun(tracking);
      const logged = await tracking.loggedModels.create({
        experimentId: '0',
        name: 'model',
        sourceRunId: runId,
      });
      const root = artifactUriToPath(logged.info.artifact_uri);
      const dir = tempDir();
      writeLogisticModel(dir, [0.2, 0.1, -0.3]);
      await tracking.artifacts.putLocal(join(dir, 'model.onnx'), `${root}/model.onnx`);
      const v = await registry.versions.create({ name: 'churn', source: `models:/${logged.info.model_id}` });
      expect(v).toMatchObject({ version: '1', run_id: runId, source: `models:/${logged.info.model_id}` });
      expect((await registry.versions.getPackage('churn', 1)).lineage).toMatchObject({
        run_id: runId,
        datasets: [{ name: 'train', digest: 'd1g3st' }],
      });
      const unknown = await registry.versions
        .create({ name: 'churn', source: `models:/m-${'0'.repeat(32)}` })
        .catch((e) => e);
      expect(unknown).toMatchObject({ code: 'RESOURCE_DOES_NOT_EXIST' });
    });

    it('says for each failed gate what would satisfy it, with the command to run', async () => {
      await open(DEFAULT_POLICY);
      await registry.models.create('churn');
      const run = await tracking.runs.create({
        experimentId: '0',
        tags: [
          { key: 'mlflow.source.git.commit', value: 'abc123' },
          { key: 'mlflow.source.git.dirty', value: 'true' },
        ],
      });
      const dir = tempDir();
      writeLogisticModel(dir);
      await tracking.logArtifact(run.info.run_id, join(dir, 'model.onnx'), 'model');
      await registry.versions.create({ name: 'churn', source: `runs:/${run.info.run_id}/model` });
      const refused = await registry.promote('churn', 1, 'Production').catch((e) => e);
      const fixes = Object.fromEntries(
        (refused.details.gates as Array<{ kind: string; fix?: string }>).map((g) => [g.kind, g.fix]),
      );
      expect(fixes.metric).toBe(
        "log it into the version's run: keel evaluate --model models:/churn/1 --data <labelled test file>",
      );
      expect(fixes.bias).toBe(
        "log it into the version's run: keel evaluate --model models:/churn/1 --data <labelled test file> --sensitive <column>",
      );
      expect(fixes.latency).toBe('measure it: keel models benchmark churn 1');
      expect(fixes.canary).toBe(
        `put it in Staging (keel models promote churn 1 --to Staging); stay in Staging until ${new Date(clock.now() + 7 * DAY).toISOString().replace('.000Z', 'Z')}; serve 1000 more requests as a canary (keel serve --model models:/churn/1 --canary models:/churn/1 --canary-percent 100)`,
      );
      expect(fixes.lineage).toContain('dataset digests: train with keel train');
      expect(fixes.lineage).toContain(
        'a clean code commit (the tree had uncommitted changes): commit the changes and train again',
      );
      expect(fixes.lineage).toContain('pipeline lock hash: train in a keel repro stage');
      expect(fixes.rollback_drill).toBeUndefined();
      expect(refused.details.report).toContain('        to pass: measure it: keel models benchmark churn 1');
    });

    it('refuses a promotion with a failing gate, then promotes with green gates and an approval; the audit log holds both', async () => {
      await open(GATED);
      await registry.models.create('churn');
      const weak = await trainedRun(tracking, { auc: 0.8, disparate_impact: 0.9 });
      const strong = await trainedRun(tracking, { auc: 0.93, disparate_impact: 0.95 });
      await registry.versions.create({ name: 'churn', source: `runs:/${weak}/model` });
      await registry.versions.create({ name: 'churn', source: `runs:/${strong}/model` });
      const alice = registry.as({ user: 'alice', role: 'writer' });
      const bob = registry.as({ user: 'bob', role: 'approver' });
      const carol = registry.as({ user: 'carol', role: 'writer' });

      for (const v of [1, 2]) await alice.promote('churn', v, 'Staging');
      clock.advance(8 * DAY);
      // Version 1's canary failed 5% of its requests: above the gate's default 1%.
      await alice.recordCanary('churn', 1, { requests: 500, errors: 25 });
      await alice.recordCanary('churn', 2, { requests: 300 });
      await alice.recordCanary('churn', 2, { requests: 200, errors: 1 });

      const refused = await alice.promote('churn', 1, 'Production').catch((e) => e);
      expect(refused).toMatchObject({ code: 'FAILED_PRECONDITION' });
      expect(refused.message).toContain("'metric auc >= 0.85'");
      const failed = (refused.details.gates as Array<{ gate: string; passed: boolean }>).filter(
        (g) => !g.passed,
      );
      expect(
        failed.map((g) => g.gate),
        JSON.stringify(failed),
      ).toEqual(['metric auc >= 0.85', 'canary >= 7 days, >= 100 requests and error rate <= 1% in Staging']);
      expect(failed[1]).toMatchObject({
        message: expect.stringContaining('500 canary requests, 25 failed (5%)'),
        fix: expect.stringContaining('failed 5% of its requests, above 1%'),
        evidence: { canary_requests: 500, canary_errors: 25, canary_error_rate: 0.05, max_error_rate: 0.01 },
      });
      expect((await registry.versions.get('churn', 1)).current_stage).toBe('Staging');
      expect(await registry.promotions.requests('churn')).toEqual([]);

      const pending = await alice.promote('churn', 2, 'Production');
      expect(pending.status).toBe('pending_approval');
      expect(pending.gates.every((g) => g.passed)).toBe(true);
      expect(pending.gates.find((g) => g.kind === 'canary')?.evidence).toMatchObject({
        canary_requests: 500,
        canary_errors: 1,
        canary_error_rate: 0.002,
      });
      expect((await registry.versions.get('churn', 2)).current_stage).toBe('Staging');
      await expect(carol.approve(pending.request_id!)).rejects.toMatchObject({ code: 'PERMISSION_DENIED' });
      await expect(
        alice.as({ user: 'alice', role: 'approver' }).approve(pending.request_id!),
      ).rejects.toMatchObject({
        code: 'PERMISSION_DENIED',
      });
      const done = await bob.approve(pending.request_id!, 'looks good');
      expect(done).toMatchObject({ status: 'promoted', version: '2', to: 'Production' });
      expect((await registry.resolveModelUri('models:/churn@champion')).version.version).toBe('2');
      await expect(bob.approve(pending.request_id!)).rejects.toMatchObject({ code: 'FAILED_PRECONDITION' });

      const audit = await registry.audit.list('churn');
      const attempts = audit.filter(
        (e) => ['promote', 'approval_requested', 'approve'].includes(e.action) && e.to === 'Production',
      );
      expect(attempts.map((e) => [e.action, e.outcome, e.actor, e.version])).toEqual([
        ['promote', 'refused', 'alice', '1'],
        ['approval_requested', 'pending', 'alice', '2'],
        ['approve', 'applied', 'bob', '2'],
      ]);
      expect(attempts[0].gates).toBeInstanceOf(Array);
      expect(attempts[2]).toMatchObject({ from: 'Staging', reason: 'looks good' });

      // An admin may override the failed gate only with a reason.
      await expect(
        alice.promote('churn', 1, 'Production', { override: true, reason: 'x' }),
      ).rejects.toMatchObject({ code: 'PERMISSION_DENIED' });
      const admin = registry.as({ user: 'dana', role: 'admin' });
      await expect(admin.promote('churn', 1, 'Production', { override: true })).rejects.toMatchObject({
        code: 'INVALID_PARAMETER_VALUE',
      });
      const overridden = await admin.promote('churn', 1, 'Production', {
        override: true,
        reason: 'hotfix for a data bug',
      });
      expect(overridden.status).toBe('pending_approval');
      const drill = overridden.gates.find((g) => g.kind === 'rollback_drill');
      expect(drill).toMatchObject({
        passed: true,
        evidence: { replaces: '2', loads: true, dry_run_restores: '2' },
      });
      await bob.approve(overridden.request_id!);
      expect((await registry.resolveModelUri('models:/churn/Production')).version.version).toBe('1');

      const back = await alice.rollback('churn', 'v1 misbehaves');
      expect(back).toEqual({ name: 'churn', from: '1', to: '2' });
      expect((await registry.resolveModelUri('models:/churn@champion')).version.version).toBe('2');
      expect((await registry.versions.get('churn', 1)).current_stage).toBe('Archived');
      expect((await registry.audit.list('churn')).at(-1)).toMatchObject({
        action: 'rollback',
        actor: 'alice',
        from: '1',
        version: '2',
      });
    });

    it('leaves exactly one Production version after concurrent promotions, with alias and stage agreeing', async () => {
      await registry.models.create('churn');
      const file = writeLogisticModel(tempDir());
      for (let i = 0; i < 4; i++) await registry.versions.create({ name: 'churn', source: file });
      const results = await Promise.allSettled(
        [1, 2, 3, 4].map((v) => registry.promote('churn', v, 'Production')),
      );
      expect(results.every((r) => r.status === 'fulfilled')).toBe(true);
      const prod = (await registry.versions.search({ filter: "current_stage = 'Production'" })).items;
      expect(prod).toHaveLength(1);
      expect(prod[0].aliases).toEqual(['champion']);
      expect((await registry.resolveModelUri('models:/churn@champion')).version.version).toBe(
        prod[0].version,
      );
      expect((await registry.versions.search({ filter: "current_stage = 'Archived'" })).items).toHaveLength(
        3,
      );
      // With two Production versions the alias names the newest; deleting it moves the alias back.
      const other = prod[0].version === '1' ? 2 : 1;
      await registry.promote('churn', other, 'Production', { archiveExisting: false });
      const top = Math.max(other, Number(prod[0].version));
      expect((await registry.resolveModelUri('models:/churn@champion')).version.version).toBe(String(top));
      await registry.versions.delete('churn', top);
      const left = (await registry.resolveModelUri('models:/churn/Production')).version.version;
      expect((await registry.resolveModelUri('models:/churn@champion')).version.version).toBe(left);
    });

    it("records a server's refusal to serve a version: an audit entry and the version's tag, the latest winning", async () => {
      await registry.models.create('churn');
      for (let i = 0; i < 2; i++)
        await registry.versions.create({ name: 'churn', source: writeLogisticModel(tempDir()) });
      for (const reason of ['first reason', 'second reason'])
        await registry.recordServingRefusal('churn', 2, { from: '1', role: 'canary', reason });
      const entries = (await registry.audit.list('churn')).filter((e) => e.action === 'serving_refused');
      expect(entries.map((e) => [e.outcome, e.version, e.from, e.to, e.reason])).toEqual([
        ['refused', '2', '1', 'canary', 'first reason'],
        ['refused', '2', '1', 'canary', 'second reason'],
      ]);
      const tags = (await registry.versions.get('churn', 2)).tags.filter(
        (t) => t.key === SERVING_REFUSED_TAG,
      );
      expect(tags).toEqual([
        {
          key: SERVING_REFUSED_TAG,
          value: expect.stringMatching(/Z canary \(serving version 1\): second reason$/),
        },
      ]);
      await expect(
        registry
          .as({ user: 'r', role: 'reader' })
          .recordServingRefusal('churn', 2, { role: 'primary', reason: 'x' }),
      ).rejects.toMatchObject({ code: 'PERMISSION_DENIED' });
    });

    it('refuses rollback without an earlier Production version', async () => {
      await registry.models.create('churn');
      await registry.versions.create({ name: 'churn', source: writeLogisticModel(tempDir()) });
      await expect(registry.rollback('churn')).rejects.toMatchObject({ code: 'FAILED_PRECONDITION' });
      await registry.promote('churn', 1, 'Production');
      await expect(registry.rollback('churn')).rejects.toMatchObject({ code: 'FAILED_PRECONDITION' });
      await expect(registry.as({ user: 'r', role: 'reader' }).rollback('churn')).rejects.toMatchObject({
        code: 'PERMISSION_DENIED',
      });
    });
  });
}
