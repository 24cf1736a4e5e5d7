/**
 * Every model `keel train` logs is an MLflow model (issue 16, item 2): the run's `model/` folder
 * holds an MLmodel whose fields are MLflow's (checked against a fixture of what mlflow.onnx writes,
 * built from MLflow's source), the environment files, the input example, and an ONNX graph
 * MLflow's ONNX pyfunc can feed from a pandas DataFrame. `readAsMlflow` (test/helpers) does what
 * `mlflow.pyfunc.load_model(...).predict(df)` does with such a folder, step by step, in ONNX
 * Runtime; its scores must be Keel's own.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import type { LocalArtifactStore } from '../../src/artifacts/index.js';
import {
  type FeatureMatrix,
  MLFLOW_FORMAT,
  readOnnxSignature,
  scoreOnnx,
  trainFromConfig,
} from '../../src/ml/index.js';
import { localTrackingClient } from '../../src/tracking/index.js';
import { type Frame, KEEL_MODEL_FILES, readAsMlflow } from '../helpers/mlflow-client.js';
import { tempDir } from '../helpers/temp.js';
import { openTestTracking } from '../helpers/tracking.js';
import { writeSyntheticCsv } from './synthetic.js';

const here = dirname(fileURLToPath(import.meta.url));
type Yaml = Record<string, unknown>;
/** MLflow's column types (mlflow/types/schema.py DataType). */
const DATA_TYPES = ['boolean', 'integer', 'long', 'float', 'double', 'string', 'binary', 'datetime'];

describe('keel train writes an MLflow model', () => {
  const dir = tempDir();
  writeSyntheticCsv(dir);
  const fixture = parseYaml(readFileSync(join(here, 'fixtures', 'mlflow-onnx-MLmodel.yaml'), 'utf8'), {
    version: '1.1',
  }) as Yaml;

  async function trainLogged(model: Record<string, unknown>, target = 'label') {
    const { tracking, cleanup } = await openTestTracking('sqlite');
    const run = await localTrackingClient(tracking).startRun({ experiment: 'mlflow-model' });
    const result = await trainFromConfig(
      {
        data: {
          path: 'data.csv',
          target,
          positiveLabel: target === 'label' ? 'yes' : undefined,
          features: ['a', 'b', 'colour'],
          categorical: ['colour'],
        },
        split: { column: 'split' },
        model: model as never,
      },
      { baseDir: dir, out: `${target}-${String(model.kind)}.onnx`, run },
    );
    await run.end();
    const folder = (tracking.artifacts as LocalArtifactStore).localPath(
      `${await tracking.runArtifactRoot(run.runId)}/model`,
    );
    const files = Object.keys(
      await tracking.artifacts.digest(`${await tracking.runArtifactRoot(run.runId)}/model`),
    );
    return { result, runId: run.runId, folder, files, cleanup };
  }

  it('logs MLmodel with MLflow fields, environment files and an input example under runs:/<id>/model', async () => {
    const { folder, files, runId, cleanup } = await trainLogged({ kind: 'gbdt', params: { iterations: 20 } });
    await cleanup();
    expect(files).toEqual(KEEL_MODEL_FILES);
    const mlmodel = parseYaml(readFileSync(join(folder, 'MLmodel'), 'utf8'), { version: '1.1' }) as Yaml;
    // Only MLflow's fields (metadata: MLflow's user metadata); none it writes for a model in a run is missing.
    const known = new Set([...Object.keys(fixture), 'metadata']);
    expect(Object.keys(mlmodel).filter((k) => !known.has(k))).toEqual([]);
    const logged2 = ['model_id']; // MLflow 3 logged models only; Keel logs to the run, as MLflow 2 did
    expect(Object.keys(fixture).filter((k) => !(k in mlmodel) && !logged2.includes(k))).toEqual([]);
    const flavors = mlmodel.flavors as Record<string, Yaml>;
    const expected = fixture.flavors as Record<string, Yaml>;
    expect(Object.keys(flavors)).toEqual(['onnx', 'python_function']);
    expect(Object.keys(flavors.onnx).sort()).toEqual(Object.keys(expected.onnx).sort());
    expect(Object.keys(flavors.python_function).sort()).toEqual(Object.keys(expected.python_function).sort());
    expect(flavors.onnx).toMatchObject({
      data: 'model.onnx',
      code: null,
      onnx_session_options: null,
      providers: expected.onnx.providers,
      onnx_version: MLFLOW_FORMAT.onnxVersion,
    });
    expect(flavors.python_function).toMatchObject({
      loader_module: 'mlflow.onnx',
      data: 'pyfunc.onnx',
      env: expected.python_function.env,
      python_version: MLFLOW_FORMAT.pythonVersion,
    });
    expect(mlmodel).toMatchObject({
      artifact_path: 'model',
      run_id: runId,
      mlflow_version: MLFLOW_FORMAT.mlflowVersion,
      saved_input_example_info: fixture.saved_input_example_info,
      is_signature_from_type_hint: false,
      type_hint_from_example: false,
      metadata: { keel_task: 'binary', keel_target: 'label', keel_positive_label: 'yes' },
    });
    expect(mlmodel.model_uuid).toMatch(/^[0-9a-f]{32}$/);
    expect(mlmodel.utc_time_created).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}$/);
    expect(mlmodel.model_size_bytes).toBeGreaterThan(readFileSync(join(folder, 'model.onnx')).byteLength);

    // The signature is a column-based schema, as JSON text, in MLflow's ColSpec shape.
    const signature = mlmodel.signature as Record<string, string | null>;
    expect(Object.keys(signature).sort()).toEqual(Object.keys(fixture.signature as Yaml).sort());
    expect(signature.params).toBeNull();
    const inputs = JSON.parse(signature.inputs as string);
    const outputs = JSON.parse(signature.outputs as string);
    expect(inputs).toEqual([
      { type: 'double', name: 'a', required: true },
      { type: 'double', name: 'b', required: true },
      { type: 'string', name: 'colour', required: true },
    ]);
    expect(outputs).toEqual([
      { type: 'long', name: 'label', required: true },
      { type: 'float', name: 'probability', required: true },
    ]);
    for (const spec of [...inputs, ...outputs]) expect(DATA_TYPES).toContain(spec.type);
    expect(Object.keys(inputs[0])).toEqual(
      Object.keys(JSON.parse((fixture.signature as Yaml).inputs as string)[0]),
    );

    // The example: pandas split orient, and the scoring server's dataframe_split request.
    const example = JSON.parse(readFileSync(join(folder, 'input_example.json'), 'utf8')) as Frame;
    expect(example.columns).toEqual(['a', 'b', 'colour']);
    expect(example.data).toHaveLength(3);
    expect(
      example.data.every(
        (row) => typeof row[2] === 'string' && ['blue', 'green', 'red'].includes(row[2] as string),
      ),
    ).toBe(true);
    expect(JSON.parse(readFileSync(join(folder, 'serving_input_example.json'), 'utf8'))).toEqual({
      dataframe_split: example,
    });
    expect(readFileSync(join(folder, 'input_example.json'), 'utf8')).toMatch(
      /^\{"columns": \["a", "b", "colour"\], "data": \[\[/,
    );

    // The environment names onnx and onnxruntime, as mlflow.onnx's default requirements do.
    const requirements = readFileSync(join(folder, 'requirements.txt'), 'utf8').split('\n');
    expect(requirements).toEqual([
      `mlflow==${MLFLOW_FORMAT.mlflowVersion}`,
      `onnx==${MLFLOW_FORMAT.onnxVersion}`,
      `onnxruntime==${MLFLOW_FORMAT.onnxruntimeVersion}`,
    ]);
    const conda = parseYaml(readFileSync(join(folder, 'conda.yaml'), 'utf8')) as { dependencies: unknown[] };
    expect(conda.dependencies).toEqual([
      `python=${MLFLOW_FORMAT.pythonVersion}`,
      'pip',
      { pip: requirements },
    ]);
    expect(parseYaml(readFileSync(join(folder, 'python_env.yaml'), 'utf8'))).toMatchObject({
      python: MLFLOW_FORMAT.pythonVersion,
      dependencies: ['-r requirements.txt'],
    });
    // mlflow.onnx.load_model returns the onnx flavor's file: Keel's own model, unchanged.
    expect(readFileSync(join(folder, 'model.onnx'))).toEqual(readFileSync(join(dir, 'label-gbdt.onnx')));
  });

  it("scores as Keel scores when MLflow's pyfunc reads the folder: categories as text, unseen ones and gaps as missing", async () => {
    for (const [model, target] of [
      [{ kind: 'gbdt', params: { iterations: 25 } }, 'label'],
      [{ kind: 'logistic' }, 'label'],
      [{ kind: 'gbdt', params: { iterations: 15, objective: 'regression' } }, 'amount'],
    ] as const) {
      const { folder, cleanup } = await trainLogged(model, target);
      await cleanup();
      const frame: Frame = {
        columns: ['colour', 'b', 'a'], // any order: MLflow orders the frame by the signature
        data: [
          ['red', 0.5, 1.25],
          ['blue', null, -2],
          ['purple', 1, 0], // a category the model never saw
          ['green', -0.75, null],
          ['red', 2, 3],
        ],
      };
      const scored = await readAsMlflow(folder, frame);
      const categories = (
        JSON.parse(readOnnxSignature(join(folder, 'model.onnx')).metadata['keel.categories']) as Record<
          string,
          string[]
        >
      ).colour;
      const x: FeatureMatrix = {
        names: ['a', 'b', 'colour'],
        columns: [
          Float64Array.from(frame.data, (r) => (r[2] === null ? Number.NaN : Number(r[2]))),
          Float64Array.from(frame.data, (r) => (r[1] === null ? Number.NaN : Number(r[1]))),
          Float64Array.from(frame.data, (r) => {
            const code = categories.indexOf(String(r[0]));
            return code < 0 ? Number.NaN : code;
          }),
        ],
      };
      const keel = await scoreOnnx(join(folder, 'model.onnx'), x);
      const label = `${model.kind} ${target}`;
      if (target === 'label') {
        expect(Object.keys(scored), label).toEqual(['label', 'probability']);
        expect(
          scored.probability.map((p) => Math.fround(p)),
          label,
        ).toEqual(Array.from(keel, (p) => Math.fround(p)));
        expect(scored.label, label).toEqual(Array.from(keel, (p) => (p > 0.5 ? 1 : 0)));
        // Keel's own graph, fed as MLflow feeds it, cannot become a DataFrame: label [N] beside [N, 2].
        await expect(readAsMlflow(folder, frame, 'model.onnx').catch((e) => e.message)).resolves.toMatch(
          /same length|missing inputs/,
        );
      } else {
        expect(Object.keys(scored), label).toEqual(['prediction']);
        expect(
          scored.prediction.map((p) => Math.fround(p)),
          label,
        ).toEqual(Array.from(keel, (p) => Math.fround(p)));
      }
    }
  });
});
