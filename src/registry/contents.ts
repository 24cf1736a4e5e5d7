/**
 * @module registry/contents
 * What a staged version holds, and whether Keel can serve it. The registry stores any model MLflow
 * can log: a folder with an `MLmodel` file (sklearn, pytorch, pyfunc, onnx, ... flavors), or an
 * ONNX file. Keel serves a version that holds an ONNX model: the file the `onnx` flavor names, or
 * else the folder's `model.onnx` (or its only `.onnx` file), as long as ONNX Runtime loads it.
 * Servability is a property of the version (stored, shown, and the `servable` gate), never a
 * refusal at registration; what is refused is a source that is no model at all, a broken MLmodel,
 * and a single file that is not a valid ONNX model.
 *
 * A servable version without an MLmodel (an ONNX file uploaded or registered from disk) is made an
 * MLflow model here, with the files `mlflow.onnx` writes (ml/mlflow-model), so MLflow's clients
 * load every version Keel can serve.
 */

import { parse as parseYaml } from 'yaml';
import { joinArtifactPath, normalizeArtifactPath } from '../artifacts/index.js';
import { isKeelError, KeelError } from '../core/index.js';
import { MLMODEL_FILE, mlflowModelFiles } from '../ml/index.js';
import type { RegistryContext } from './context.js';
import type { VersionRow } from './rows.js';
import { readSignature } from './signature.js';
import type { Signature } from './types.js';

export interface ModelContents {
  /** The MLmodel's flavors (`python_function`, `sklearn`, `onnx`, ...); empty without an MLmodel. */
  flavors: string[];
  /** The ONNX file Keel serves, relative to the version's folder; undefined when not servable. */
  onnxFile?: string;
  /** Read from the ONNX file; empty when not servable. */
  signature: Signature;
  /** Why Keel cannot serve the version; empty when it can. */
  notServable: string;
}

const bad = (message: string) => new KeelError('INVALID_PARAMETER_VALUE', message);

async function readBytes(ctx: Pick<RegistryContext, 'artifacts'>, path: string): Promise<Buffer> {
  const { stream } = await ctx.artifacts.get(path);
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** The MLmodel's flavors, and the file its `onnx` flavor names. @throws INVALID_PARAMETER_VALUE for a broken MLmodel. */
function readMlmodel(text: string, source: string): { flavors: string[]; onnxData?: unknown } {
  let doc: unknown;
  try {
    // MLflow writes MLmodel with PyYAML, which speaks YAML 1.1.
    doc = parseYaml(text, { version: '1.1' });
  } catch (err) {
    throw bad(
      `Model source '${source}' has an MLmodel file that is not valid YAML: ${(err as Error).message}`,
    );
  }
  const flavors = (doc as { flavors?: unknown } | null)?.flavors;
  if (
    typeof doc !== 'object' ||
    doc === null ||
    typeof flavors !== 'object' ||
    flavors === null ||
    Array.isArray(flavors)
  )
    throw bad(
      `Model source '${source}' has an MLmodel file without a 'flavors' mapping: it is not an MLflow model`,
    );
  return {
    flavors: Object.keys(flavors).sort(),
    onnxData: (flavors as Record<string, { data?: unknown } | null>).onnx?.data,
  };
}

/** The one `.onnx` of a folder's top-level file names: `model.onnx` if there, else the only one. */
function chooseOnnx(names: string[]): { file?: string; why: string } {
  const onnx = names.filter((f) => f.endsWith('.onnx')).sort();
  if (onnx.includes('model.onnx')) return { file: 'model.onnx', why: '' };
  if (onnx.length === 1) return { file: onnx[0], why: '' };
  return {
    why:
      onnx.length === 0
        ? 'it holds no ONNX model'
        : `it holds several .onnx files (${onnx.join(', ')}) and no MLmodel onnx flavor naming one`,
  };
}

/**
 * Judges the files staged in store folder `staging` (the source's copy), and makes a servable
 * version without an MLmodel an MLflow model. `single` is the file name when the source was one
 * file.
 * @throws INVALID_PARAMETER_VALUE for a source that is neither an MLflow model nor an ONNX model, a
 *   broken MLmodel, or a single file ONNX Runtime cannot load (the message names the source).
 */
export async function inspectStaged(
  ctx: Pick<RegistryContext, 'artifacts' | 'clock'>,
  staging: string,
  source: string,
  options: { single?: string; runId?: string },
): Promise<ModelContents> {
  const top = (await ctx.artifacts.list(staging)).filter((e) => !e.isDir).map((e) => e.path);
  const hasMlmodel = top.includes(MLMODEL_FILE);
  if (!hasMlmodel && !top.some((f) => f.endsWith('.onnx'))) {
    throw bad(
      `Model source '${source}' is neither an MLflow model (no MLmodel file at its top) nor an ONNX model (no .onnx file): register the folder MLflow logged (runs:/<run_id>/model, models:/m-<id>) or an ONNX file`,
    );
  }
  const empty: Signature = { inputs: [], outputs: [] };
  let flavors: string[] = [];
  let onnxFile: string | undefined;
  let why = '';
  if (hasMlmodel) {
    const mlmodel = readMlmodel(
      (await readBytes(ctx, `${staging}/${MLMODEL_FILE}`)).toString('utf8'),
      source,
    );
    flavors = mlmodel.flavors;
    if (mlmodel.onnxData !== undefined) {
      const named = typeof mlmodel.onnxData === 'string' ? safePath(mlmodel.onnxData) : undefined;
      if (named && (await ctx.artifacts.kind(joinArtifactPath(staging, named))) === 'file') onnxFile = named;
      else
        why = `its MLmodel's onnx flavor names data '${String(mlmodel.onnxData)}', which the model folder does not hold`;
    }
  }
  if (onnxFile === undefined && why === '') {
    const chosen = chooseOnnx(top);
    onnxFile = chosen.file;
    why = chosen.file
      ? ''
      : `${chosen.why}${flavors.length ? ` (MLmodel flavors: ${flavors.join(', ')})` : ''}`;
  }
  if (onnxFile === undefined) return { flavors, signature: empty, notServable: why };

  const local = await ctx.artifacts.localFile(joinArtifactPath(staging, onnxFile));
  let signature: Signature;
  try {
    signature = await readSignature(local);
  } catch (err) {
    if (!isKeelError(err, 'INVALID_PARAMETER_VALUE')) throw err;
    // One file asked to be registered as an ONNX model that does not load: nothing worth keeping.
    if (options.single) throw new KeelError(err.code, err.message.replaceAll(local, source), { cause: err });
    const message = err.message.replaceAll(local, onnxFile);
    return { flavors, signature: empty, notServable: `ONNX Runtime cannot load ${onnxFile}: ${message}` };
  }
  if (!hasMlmodel) {
    const files = mlflowModelFiles({
      onnx: await readBytes(ctx, joinArtifactPath(staging, onnxFile)),
      onnxFile,
      runId: options.runId,
      createdAt: ctx.clock.now(),
    });
    for (const [name, data] of Object.entries(files)) await ctx.artifacts.put(`${staging}/${name}`, data);
    flavors = ['onnx', 'python_function'];
  }
  return { flavors, onnxFile, signature, notServable: '' };
}

/** A relative path inside the folder, or undefined when it would leave it or is not a path. */
function safePath(path: string): string | undefined {
  try {
    const p = normalizeArtifactPath(path);
    return p === '' ? undefined : p;
  } catch {
    return undefined;
  }
}

/** What to do about a version Keel cannot serve. */
export const SERVABLE_FIX =
  'Keel serves ONNX models: register an ONNX export of the model as a new version (an MLflow model logged with mlflow.onnx.log_model, or keel models register <name> <model.onnx>)';

/**
 * The store path of the ONNX file Keel serves for a version.
 * @throws KeelError FAILED_PRECONDITION naming why, when Keel cannot serve the version.
 */
export function servedModelPath(row: VersionRow): string {
  if (Number(row.servable) === 1) return row.model_path;
  throw new KeelError(
    'FAILED_PRECONDITION',
    `Version ${row.version} of '${row.name}' cannot be served by Keel: ${row.not_servable || 'it holds no ONNX model'}. ${SERVABLE_FIX}`,
    { details: { servable: false, flavors: JSON.parse(row.flavors ?? '[]') } },
  );
}
