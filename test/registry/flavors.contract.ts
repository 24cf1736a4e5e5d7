/**
 * The registry stores any model MLflow can log (issue 16, item 1), on every metadata backend: an
 * sklearn or pytorch folder is registered whole, from a run or an MLflow 3 logged model; whether
 * Keel can serve a version is a property (stored, a reserved tag, the `servable` gate) and serving
 * it is refused with a clear error, never the registration. A bare ONNX file becomes an MLflow
 * model folder, so MLflow's clients load every version Keel serves.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { writeMlflowModel } from '../../src/ml/index.js';
import type { Policy, Registry } from '../../src/registry/index.js';
import { ServingModel } from '../../src/serving/index.js';
import { artifactUriToPath, type Tracking } from '../../src/tracking/index.js';
import { logisticModelBytes, writeLogisticModel } from '../helpers/onnx.js';
import { openTestRegistry } from '../helpers/registry.js';
import { type Backend, tempDir } from '../helpers/tracking.js';
import { writeMlflowFolder } from './fixtures.js';

const SERVABLE_GATE: Policy = {
  productionAlias: 'champion',
  stages: { Production: { requireApproval: false, gates: [{ kind: 'servable' }] } },
};

export function describeFlavorsContract(backend: Backend, postgresUrl?: string): void {
  describe(`any MLflow model in the registry on ${backend}`, () => {
    let registry: Registry;
    let tracking: Tracking;
    let cleanup: () => Promise<void>;
    beforeEach(async () => {
      ({ registry, tracking, cleanup } = await openTestRegistry(backend, postgresUrl, {
        policy: SERVABLE_GATE,
      }));
      await registry.models.create('clf');
    });
    afterEach(() => cleanup());

    /** Every file under a version's folder, relative to it. */
    const filesOf = async (version: number) =>
      Object.keys(
        await tracking.artifacts.digest((await registry.versions.getPackage('clf', version)).folder),
      );

    it('registers an sklearn model logged to a run, whole; Keel does not serve it and says why', async () => {
      const run = await tracking.runs.create({ experimentId: '0' });
      const local = join(tempDir(), 'model');
      const written = writeMlflowFolder(local, 'sklearn');
      await tracking.logArtifact(run.info.run_id, local);
      const v = await registry.versions.create({ name: 'clf', source: `runs:/${run.info.run_id}/model` });
      expect(v).toMatchObject({ version: '1', status: 'READY', run_id: run.info.run_id });
      expect(v.tags).toEqual([{ key: 'keel.servable', value: 'false' }]);
      const pkg = await registry.versions.getPackage('clf', 1);
      expect(pkg).toMatchObject({
        folder: 'models/clf/1',
        model_path: null,
        servable: false,
        flavors: ['python_function', 'sklearn'],
        signature: { inputs: [], outputs: [] },
      });
      expect(pkg.not_servable).toBe('it holds no ONNX model (MLmodel flavors: python_function, sklearn)');
      expect(await filesOf(1)).toEqual(written);
      expect(await registry.versions.downloadUri('clf', 1)).toBe('mlflow-artifacts:/models/clf/1');
      // Searchable as any tag.
      const found = await registry.versions.search({ filter: "tags.`keel.servable` = 'false'" });
      expect(found.items.map((x) => x.version)).toEqual(['1']);

      for (const attempt of [
        () => registry.resolveModelUri('models:/clf/1'),
        () => registry.benchmark('clf', 1),
        () => registry.resolveModelUri('models:/clf/1', { verify: false }),
        () => ServingModel.load(registry, 'models:/clf/1'),
      ]) {
        const err = await attempt().catch((e) => e);
        expect(err).toMatchObject({ code: 'FAILED_PRECONDITION' });
        expect(err.message).toBe(
          "Version 1 of 'clf' cannot be served by Keel: it holds no ONNX model (MLmodel flavors: python_function, sklearn). Keel serves ONNX models: register an ONNX export of the model as a new version (an MLflow model logged with mlflow.onnx.log_model, or keel models register <name> <model.onnx>)",
        );
      }
      const refused = await registry.promote('clf', 1, 'Production').catch((e) => e);
      expect(refused).toMatchObject({ code: 'FAILED_PRECONDITION' });
      expect(refused.details.gates).toEqual([
        expect.objectContaining({
          gate: 'servable by Keel (ONNX)',
          passed: false,
          message: 'it holds no ONNX model (MLmodel flavors: python_function, sklearn)',
          fix: expect.stringContaining('register an ONNX export of the model'),
        }),
      ]);
      expect((await registry.versions.get('clf', 1)).current_stage).toBe('None');
    });

    it('registers a pytorch model logged with MLflow 3 (models:/m-...), its data folder and model id kept', async () => {
      const run = await tracking.runs.create({ experimentId: '0' });
      const logged = await tracking.loggedModels.create({
        experimentId: '0',
        name: 'model',
        sourceRunId: run.info.run_id,
      });
      const local = tempDir();
      const written = writeMlflowFolder(local, 'pytorch', logged.info.model_id);
      await tracking.artifacts.putLocal(local, artifactUriToPath(logged.info.artifact_uri));
      const v = await registry.versions.create({ name: 'clf', source: `models:/${logged.info.model_id}` });
      expect(v).toMatchObject({ run_id: run.info.run_id, model_id: logged.info.model_id });
      expect((await registry.versions.getPackage('clf', 1)).flavors).toEqual(['python_function', 'pytorch']);
      expect(await filesOf(1)).toEqual(written);
      expect(written).toContain('data/model.pth');
    });

    it('serves an MLflow onnx model, and makes a bare ONNX file an MLflow model folder', async () => {
      const dir = join(tempDir(), 'onnx-model');
      writeMlflowModel(dir, { onnx: logisticModelBytes([0.5, -1, 2]) });
      const v1 = await registry.versions.create({ name: 'clf', source: dir });
      expect(v1.tags).toEqual([{ key: 'keel.servable', value: 'true' }]);
      const pkg = await registry.versions.getPackage('clf', 1);
      expect(pkg).toMatchObject({
        servable: true,
        model_path: 'models/clf/1/model.onnx',
        flavors: ['onnx', 'python_function'],
        signature: { inputs: [{ name: 'features', type: 'float32', shape: ['N', 3] }] },
      });
      expect((await registry.resolveModelUri('models:/clf/1')).modelFile.endsWith('model.onnx')).toBe(true);
      await registry.promote('clf', 1, 'Production');

      const bare = writeLogisticModel(tempDir(), [1, 1], 'exported.onnx');
      await registry.versions.create({ name: 'clf', source: bare });
      expect(await filesOf(2)).toEqual([
        'MLmodel',
        'conda.yaml',
        'exported.onnx',
        'python_env.yaml',
        'requirements.txt',
      ]);
      const mlmodel = parseYaml(
        (await readStore(tracking, 'models/clf/2/MLmodel')).toString('utf8'),
      ) as Record<string, Record<string, Record<string, unknown>>>;
      expect(mlmodel.flavors.onnx.data).toBe('exported.onnx');
      expect(mlmodel.flavors.python_function).toMatchObject({
        loader_module: 'mlflow.onnx',
        data: 'exported.onnx',
      });
      expect((await registry.versions.getPackage('clf', 2)).model_path).toBe('models/clf/2/exported.onnx');
      // The added files are registered files like any: checked on every load.
      await expect(registry.resolveModelUri('models:/clf/2')).resolves.toBeTruthy();
    });

    it('stores, not serves, what Keel cannot load; refuses what is no model at all', async () => {
      const missing = join(tempDir(), 'flavor-names-nothing');
      writeMlflowModel(missing, { onnx: logisticModelBytes([1]) });
      writeFileSync(
        join(missing, 'MLmodel'),
        'flavors:\n  onnx:\n    data: gone.onnx\n  python_function:\n    loader_module: mlflow.onnx\n',
      );
      await registry.versions.create({ name: 'clf', source: missing });
      expect((await registry.versions.getPackage('clf', 1)).not_servable).toBe(
        "its MLmodel's onnx flavor names data 'gone.onnx', which the model folder does not hold",
      );

      const broken = join(tempDir(), 'broken-onnx');
      mkdirSync(broken);
      writeFileSync(join(broken, 'model.onnx'), 'not protobuf');
      writeFileSync(join(broken, 'MLmodel'), 'flavors:\n  onnx: { data: model.onnx }\n');
      await registry.versions.create({ name: 'clf', source: broken });
      const pkg = await registry.versions.getPackage('clf', 2);
      expect(pkg.servable).toBe(false);
      expect(pkg.not_servable).toMatch(/^ONNX Runtime cannot load model\.onnx: /);
      // The server's staging path is not shown: the file is named as the folder names it.
      expect(pkg.not_servable).not.toContain('.upload-');

      const nothing = join(tempDir(), 'notes');
      mkdirSync(nothing);
      writeFileSync(join(nothing, 'README.md'), 'hello');
      const brokenYaml = join(tempDir(), 'bad-yaml');
      mkdirSync(brokenYaml);
      writeFileSync(join(brokenYaml, 'MLmodel'), 'flavors: [unclosed');
      const noFlavors = join(tempDir(), 'no-flavors');
      mkdirSync(noFlavors);
      writeFileSync(join(noFlavors, 'MLmodel'), 'artifact_path: model\n');
      const pickle = join(tempDir(), 'model.pkl');
      writeFileSync(pickle, 'bytes');
      const cases: Array<[string, RegExp]> = [
        [nothing, /is neither an MLflow model \(no MLmodel file at its top\) nor an ONNX model/],
        [pickle, /is neither an MLflow model/],
        [brokenYaml, /has an MLmodel file that is not valid YAML/],
        [noFlavors, /has an MLmodel file without a 'flavors' mapping/],
      ];
      for (const [source, message] of cases) {
        const err = await registry.versions.create({ name: 'clf', source }).catch((e) => e);
        expect(err, source).toMatchObject({ code: 'INVALID_PARAMETER_VALUE' });
        expect(err.message).toMatch(message);
        expect(err.message).toContain(source);
      }
      expect((await registry.versions.search({ filter: "name = 'clf'" })).items).toHaveLength(2);
      // Nothing half-written: no staging folder left behind.
      expect((await tracking.artifacts.list('models/clf')).map((e) => e.path)).toEqual(['1', '2']);
    });
  });
}

async function readStore(tracking: Tracking, path: string): Promise<Buffer> {
  const { stream } = await tracking.artifacts.get(path);
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}
