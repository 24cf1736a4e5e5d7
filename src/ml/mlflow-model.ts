/**
 * @module ml/mlflow-model
 * An ONNX model as an MLflow model folder, as `mlflow.onnx.save_model` writes one (mlflow/onnx,
 * mlflow/pyfunc `add_to_model`, mlflow/models/model.py `Model.to_dict`, mlflow/models/utils.py
 * `_Example`): `MLmodel` (YAML, keys sorted as PyYAML's `safe_dump` sorts them) with the `onnx`
 * flavor (the ONNX file, onnx_version, providers, onnx_session_options) and `python_function`
 * (loader_module mlflow.onnx, python_version, env), `conda.yaml`, `python_env.yaml` and
 * `requirements.txt` naming onnx and onnxruntime, so `mlflow.pyfunc.load_model` and
 * `mlflow.onnx.load_model` load it.
 *
 * A Keel-trained model (its feature names in the ONNX metadata) also gets a column-based signature
 * (numeric columns `double`, categorical ones `string`, the outputs `label`/`probability` or
 * `prediction`), an input example (`input_example.json`, pandas split orient, and
 * `serving_input_example.json`, the scoring server's `dataframe_split` request) and the pyfunc
 * graph `pyfunc.onnx` (ml/onnx-columns) that MLflow's ONNX wrapper can feed from a DataFrame;
 * `model.onnx` stays Keel's own graph, which `mlflow.onnx.load_model` returns. Any other ONNX file
 * gets the flavors alone, as `mlflow.onnx.log_model` without a signature writes them.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { Document } from 'yaml';
import { isKeelError } from '../core/index.js';
import { type ColumnsModel, columnsModel, isKeelModel } from './onnx-columns.js';
import { META_CATEGORIES, META_POSITIVE, META_TARGET, META_TASK } from './onnx-export.js';
import { readOnnxSignature } from './onnx-signature.js';

export const MLMODEL_FILE = 'MLmodel';
/** The pyfunc graph of a Keel-trained model. */
export const PYFUNC_ONNX_FILE = 'pyfunc.onnx';

/**
 * The MLflow and Python versions Keel's model folders name. `mlflow_version` is the release whose
 * format the files follow; Python and onnx are what the environment files ask for (MLflow only
 * warns when the loading Python differs); onnxruntime is the release Keel runs the model with.
 */
export const MLFLOW_FORMAT = {
  mlflowVersion: '3.1.0',
  pythonVersion: '3.11.9',
  onnxVersion: '1.17.0',
  onnxruntimeVersion: (createRequire(import.meta.url)('onnxruntime-node/package.json') as { version: string })
    .version,
} as const;

/** mlflow.onnx's default execution providers. */
const PROVIDERS = ['CUDAExecutionProvider', 'CPUExecutionProvider'];

/** A value of an input example's cell: a number, a category's text, or null (missing). */
export type ExampleValue = number | string | null;

export interface MlflowModelOptions {
  /** The ONNX model's bytes. */
  onnx: Uint8Array;
  /** Its file name in the folder. Default `model.onnx`. */
  onnxFile?: string;
  /** The run the model is logged to, and its path there (`model`). */
  runId?: string;
  artifactPath?: string;
  /** Rows of the input example, one value per feature in the model's order (Keel models only). */
  example?: ExampleValue[][];
  /** When the model was written (ms). Default now. */
  createdAt?: number;
  /** Default a random one, as MLflow's `uuid4().hex`. */
  modelUuid?: string;
}

/** Python's `str(datetime.utcnow())`: `2025-01-31 09:05:07.123000`. */
function utcTime(ms: number): string {
  const iso = new Date(ms).toISOString(); // 2025-01-31T09:05:07.123Z
  return `${iso.slice(0, 10)} ${iso.slice(11, 23)}000`;
}

/** YAML as PyYAML's `safe_dump(default_flow_style=False)` writes it: keys sorted, 1.1 quoting. */
function pyYaml(value: unknown): string {
  return new Document(value, { version: '1.1', sortMapEntries: true }).toString({
    lineWidth: 0,
    singleQuote: true,
    indentSeq: false,
  });
}

/** Python's `json.dumps`: `, ` and `: ` separators, NaN as null (the example's missing cells). */
function pyJson(value: unknown, indent?: number): string {
  const text = JSON.stringify(
    value,
    (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v),
    indent,
  );
  return indent === undefined
    ? text.replace(/("(?:[^"\\]|\\.)*")|([,:])/g, (m, str, sep) => (str ? m : `${sep} `))
    : text;
}

function environmentFiles(): Record<string, string> {
  const { mlflowVersion, pythonVersion, onnxVersion, onnxruntimeVersion } = MLFLOW_FORMAT;
  const requirements = [
    `mlflow==${mlflowVersion}`,
    `onnx==${onnxVersion}`,
    `onnxruntime==${onnxruntimeVersion}`,
  ];
  return {
    'conda.yaml': pyYaml({
      channels: ['conda-forge'],
      dependencies: [`python=${pythonVersion}`, 'pip', { pip: requirements }],
      name: 'mlflow-env',
    }),
    'python_env.yaml': pyYaml({
      python: pythonVersion,
      build_dependencies: ['pip', 'setuptools', 'wheel'],
      dependencies: ['-r requirements.txt'],
    }),
    'requirements.txt': requirements.join('\n'),
  };
}

const colSpecs = (cols: Array<{ name: string; type: string }>) =>
  pyJson(cols.map((c) => ({ type: c.type, name: c.name, required: true })));

/**
 * The files an ONNX model needs beside it to be an MLflow model (not the ONNX file itself), by
 * name. The ONNX bytes are read, never changed.
 * @throws KeelError INVALID_PARAMETER_VALUE when the bytes are not a valid ONNX model.
 */
export function mlflowModelFiles(options: MlflowModelOptions): Record<string, Uint8Array | string> {
  const onnxFile = options.onnxFile ?? 'model.onnx';
  const signature = readOnnxSignature(options.onnx);
  const files: Record<string, Uint8Array | string> = {};
  const mlmodel: Record<string, unknown> = {
    ...(options.artifactPath ? { artifact_path: options.artifactPath } : {}),
    ...(options.runId ? { run_id: options.runId } : {}),
    mlflow_version: MLFLOW_FORMAT.mlflowVersion,
    model_uuid: options.modelUuid ?? randomUUID().replaceAll('-', ''),
    utc_time_created: utcTime(options.createdAt ?? Date.now()),
  };
  let pyfuncData = onnxFile;
  const columns = isKeelModel(signature.metadata) ? keelColumns(options.onnx) : undefined;
  if (columns) {
    files[PYFUNC_ONNX_FILE] = columns.bytes;
    pyfuncData = PYFUNC_ONNX_FILE;
    mlmodel.signature = {
      inputs: colSpecs(columns.inputs),
      outputs: colSpecs(columns.outputs),
      params: null,
    };
    mlmodel.is_signature_from_type_hint = false;
    mlmodel.type_hint_from_example = false;
    const meta = signature.metadata;
    mlmodel.metadata = {
      keel_task: meta[META_TASK] ?? 'binary',
      ...(meta[META_TARGET] ? { keel_target: meta[META_TARGET] } : {}),
      ...(meta[META_POSITIVE] ? { keel_positive_label: meta[META_POSITIVE] } : {}),
      ...(meta[META_CATEGORIES] ? { keel_categories: JSON.parse(meta[META_CATEGORIES]) } : {}),
    };
    if (options.example?.length) {
      const split = { columns: columns.inputs.map((c) => c.name), data: options.example };
      files['input_example.json'] = pyJson(split);
      files['serving_input_example.json'] = pyJson({ dataframe_split: split }, 2);
      mlmodel.saved_input_example_info = {
        artifact_path: 'input_example.json',
        type: 'dataframe',
        pandas_orient: 'split',
        serving_input_path: 'serving_input_example.json',
      };
    }
  }
  mlmodel.flavors = {
    onnx: {
      code: null,
      data: onnxFile,
      onnx_session_options: null,
      onnx_version: MLFLOW_FORMAT.onnxVersion,
      providers: PROVIDERS,
    },
    python_function: {
      data: pyfuncData,
      env: { conda: 'conda.yaml', virtualenv: 'python_env.yaml' },
      loader_module: 'mlflow.onnx',
      python_version: MLFLOW_FORMAT.pythonVersion,
    },
  };
  // As mlflow.onnx measures it: the model data and the example, before the metadata files.
  const size = (v: Uint8Array | string) => (typeof v === 'string' ? Buffer.byteLength(v) : v.byteLength);
  mlmodel.model_size_bytes = Object.values(files).reduce(
    (n: number, v) => n + size(v),
    options.onnx.byteLength,
  );
  files[MLMODEL_FILE] = pyYaml(mlmodel);
  Object.assign(files, environmentFiles());
  return files;
}

/** The pyfunc graph of a Keel model; undefined for a file that only carries Keel's metadata. */
function keelColumns(bytes: Uint8Array): ColumnsModel | undefined {
  try {
    return columnsModel(bytes);
  } catch (err) {
    if (isKeelError(err, 'INVALID_PARAMETER_VALUE')) return undefined;
    throw err;
  }
}

/**
 * Writes an MLflow model folder `dir` (created) holding the ONNX model and its MLflow files.
 * @returns the file names written.
 */
export function writeMlflowModel(dir: string, options: MlflowModelOptions): string[] {
  const files = { [options.onnxFile ?? 'model.onnx']: options.onnx, ...mlflowModelFiles(options) };
  mkdirSync(dir, { recursive: true });
  for (const [name, data] of Object.entries(files)) writeFileSync(join(dir, name), data);
  return Object.keys(files).sort();
}
