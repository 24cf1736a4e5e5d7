/**
 * What MLflow's Python client does with a model, step by step, for tests that cannot install it:
 * resolve a `models:/` URI to a version (mlflow/store/artifact/utils/models.py
 * `get_model_name_and_version`: a number as is, `@alias` by GET registered-models/alias, a stage
 * by get-latest-versions), ask for the version's download URI
 * (`ModelsArtifactRepository._get_model_uri_infos`), then list and download it through the
 * artifact proxy as `HttpArtifactRepository` does (GET `/mlflow-artifacts/artifacts?path=`,
 * recursing into folders, GET each file); and score a downloaded MLflow ONNX model as
 * `mlflow.pyfunc.load_model(...).predict(df)` would (pyfunc `load_model`, onnx `_OnnxModelWrapper`).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { expect } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { loadOrt, openOnnxSession } from '../../src/ml/index.js';
import { tempDir } from './temp.js';

/** The files of the MLflow model folder `keel train` logs under a run's `model/`, sorted. */
export const KEEL_MODEL_FILES = [
  'MLmodel',
  'conda.yaml',
  'input_example.json',
  'model.onnx',
  'pyfunc.onnx',
  'python_env.yaml',
  'requirements.txt',
  'serving_input_example.json',
];

type Call = (
  method: string,
  path: string,
  body?: unknown,
) => Promise<{ status: number; body: Record<string, unknown> }>;

/** A DataFrame as `{columns, data}` (pandas split orient), cells null where missing. */
export interface Frame {
  columns: string[];
  data: Array<Array<number | string | null>>;
}

const api = (path: string) => `/api/2.0/mlflow/${path}`;
const query = (path: string, params: Record<string, string>) => `${api(path)}?${new URLSearchParams(params)}`;

/** `models:/name/3`, `models:/name@alias`, `models:/name/Stage`: the version number, as the client finds it. */
export async function resolveModelsUri(call: Call, uri: string): Promise<{ name: string; version: string }> {
  const m = /^models:\/([^/@]+)(?:\/([^/]+)|@(.+))$/.exec(uri);
  if (!m) throw new Error(`not a models:/ URI: ${uri}`);
  const name = m[1];
  if (m[3] !== undefined) {
    const res = await call('GET', query('registered-models/alias', { name, alias: m[3] }));
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return { name, version: (res.body.model_version as { version: string }).version };
  }
  if (/^\d+$/.test(m[2])) return { name, version: m[2] };
  const res = await call('POST', api('registered-models/get-latest-versions'), { name, stages: [m[2]] });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  const versions = res.body.model_versions as Array<{ version: string }>;
  if (versions.length === 0)
    throw new Error(`No versions of model with name '${name}' and stage '${m[2]}' found`);
  return { name, version: String(Math.max(...versions.map((v) => Number(v.version)))) };
}

/**
 * Downloads a model as `mlflow.artifacts.download_artifacts("models:/...")` does, into a new
 * folder. @returns the folder, its files (relative) and the download URI.
 */
export async function downloadModel(
  base: string,
  call: Call,
  uri: string,
): Promise<{ dir: string; files: string[]; artifactUri: string; version: string }> {
  const { name, version } = await resolveModelsUri(call, uri);
  const res = await call('GET', query('model-versions/get-download-uri', { name, version }));
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  const artifactUri = res.body.artifact_uri as string;
  expect(artifactUri).toMatch(/^mlflow-artifacts:\//);
  const root = artifactUri.slice('mlflow-artifacts:'.length).replace(/^\/+/, '');
  const dir = tempDir('keel-mlflow-download-');
  const files: string[] = [];
  const walk = async (rel: string): Promise<void> => {
    const listed = await call(
      'GET',
      `/api/2.0/mlflow-artifacts/artifacts?${new URLSearchParams({ path: rel ? `${root}/${rel}` : root })}`,
    );
    expect(listed.status).toBe(200);
    for (const f of (listed.body.files ?? []) as Array<{ path: string; is_dir: boolean }>) {
      // The client joins the listed path's basename to the folder it listed.
      expect(f.path).not.toContain('/');
      const path = rel ? `${rel}/${f.path}` : f.path;
      if (f.is_dir) await walk(path);
      else {
        const got = await fetch(
          `${base}/api/2.0/mlflow-artifacts/artifacts/${`${root}/${path}`.split('/').map(encodeURIComponent).join('/')}`,
        );
        expect(got.status, path).toBe(200);
        mkdirSync(dirname(join(dir, path)), { recursive: true });
        writeFileSync(join(dir, path), Buffer.from(await got.arrayBuffer()));
        files.push(path);
      }
    }
  };
  await walk('');
  return { dir, files: files.sort(), artifactUri, version };
}

/** The MLmodel of a downloaded folder, read as PyYAML reads it (YAML 1.1). */
export function readMlmodel(folder: string): Record<string, unknown> {
  return parseYaml(readFileSync(join(folder, 'MLmodel'), 'utf8'), { version: '1.1' }) as Record<
    string,
    unknown
  >;
}

/**
 * Scores a frame with an MLflow ONNX model folder as MLflow does: read MLmodel, enforce its
 * column signature, load `python_function.data` (or `data`) with ONNX Runtime and feed it as
 * `_OnnxModelWrapper` does (one 1-D array per input named after its column, or the frame's values
 * for a single input; float64 cast to float32 for float inputs), then flatten each output into a
 * column, which pandas refuses unless all have the same length.
 */
export async function readAsMlflow(
  folder: string,
  frame: Frame,
  data?: string,
): Promise<Record<string, number[]>> {
  const mlmodel = readMlmodel(folder);
  const pyfunc = (mlmodel.flavors as Record<string, Record<string, unknown>>).python_function;
  if (pyfunc?.loader_module !== 'mlflow.onnx')
    throw new Error(`not an MLflow ONNX model: ${JSON.stringify(pyfunc)}`);
  const signature = mlmodel.signature as { inputs?: string } | undefined;
  const inputs = (signature?.inputs ? JSON.parse(signature.inputs) : []) as Array<{
    name: string;
    type: string;
  }>;
  const column = (name: string) => {
    const j = frame.columns.indexOf(name);
    if (j < 0) throw new Error(`Model is missing inputs ['${name}']`);
    return frame.data.map((row) => row[j]);
  };
  const session = await openOnnxSession(join(folder, data ?? (pyfunc.data as string)));
  const ort = await loadOrt();
  const n = frame.data.length;
  const feeds: Record<string, InstanceType<typeof ort.Tensor>> = {};
  for (const name of session.inputNames) {
    const spec = inputs.find((c) => c.name === name);
    const values = spec ? column(name) : frame.data.flat();
    if (spec?.type === 'string') feeds[name] = new ort.Tensor('string', values.map(String), [n]);
    else {
      const doubles = Float64Array.from(values, (v) => (v === null ? Number.NaN : Number(v)));
      const meta = session.inputMetadata.find((m) => m.name === name);
      const float = meta?.isTensor && meta.type === 'float32';
      const dims = spec ? [n] : [n, frame.columns.length];
      feeds[name] = float
        ? new ort.Tensor('float32', Float32Array.from(doubles), dims)
        : new ort.Tensor('float64', doubles, dims);
    }
  }
  const out = await session.run(feeds);
  await session.release();
  const columns = Object.fromEntries(
    session.outputNames.map((name) => [
      name,
      Array.from(out[name].data as ArrayLike<number | bigint>, Number),
    ]),
  );
  if (new Set(Object.values(columns).map((c) => c.length)).size > 1)
    throw new Error('All arrays must be of the same length');
  return columns;
}
