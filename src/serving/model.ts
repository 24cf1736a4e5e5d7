/**
 * @module serving/model
 * One registered model version loaded for serving: its ONNX Runtime session, the names of its
 * input columns in order, category lists for text columns, and the feature references the online
 * store is asked for. Keel's own models carry their column names and categories in the ONNX
 * metadata; a foreign model takes its names from the version's feature references, or is fed by
 * position only.
 */
import { KeelError } from '../core/index.js';
import {
  loadOrt,
  META_TASK,
  type OnnxSession,
  openOnnxSession,
  readOnnxSignature,
  scoresOf,
} from '../ml/index.js';
import type { Registry, Signature } from '../registry/index.js';
import { type InputColumn, inputColumns } from './columns.js';

/** What a served model tells its callers (OIP metadata, `/predict` responses). */
export interface ServingModelInfo {
  name: string;
  version: string;
  /** The URI it was loaded from, e.g. `models:/churn@champion`. */
  uri: string;
  /** `binary` (scores are class-1 probabilities), `regression`, or `unknown` for a foreign model. */
  task: 'binary' | 'regression' | 'unknown';
  /** Input column names in order; empty when the model can only be fed by position. */
  features: string[];
  /** The same columns with their types and categories. */
  columns: InputColumn[];
  /** `view:feature` references to look the inputs up online by entity keys. */
  featureRefs: string[];
  signature: Signature;
}

export class ServingModel {
  private constructor(
    readonly info: ServingModelInfo,
    /** Category lists of text columns: a value's code is its index. */
    readonly categories: Readonly<Record<string, readonly string[]>>,
    /** Columns of the input tensor. */
    readonly width: number,
    private readonly session: OnnxSession,
  ) {}

  /**
   * Loads the version `uri` names (`models:/name/3`, `models:/name@alias`, `models:/name/Stage`).
   * @throws KeelError RESOURCE_DOES_NOT_EXIST for an unknown model, version or alias;
   *   INVALID_PARAMETER_VALUE for a model whose input is not one float tensor of fixed width.
   */
  static async load(registry: Registry, uri: string): Promise<ServingModel> {
    const resolved = await registry.resolveModelUri(uri);
    const { version, package: pkg, modelFile } = resolved;
    const metadata = readOnnxSignature(modelFile).metadata;
    const input = pkg.signature.inputs[0];
    const width = input?.shape?.length === 2 ? input.shape[1] : undefined;
    if (pkg.signature.inputs.length !== 1 || typeof width !== 'number' || !/^float/.test(input.type)) {
      throw new KeelError(
        'INVALID_PARAMETER_VALUE',
        `${uri} (version ${version.version}) cannot be served: Keel serves models with one float input of shape [N, F]`,
      );
    }
    const columns = inputColumns(metadata, pkg.features, width);
    const task =
      metadata[META_TASK] === 'binary' || metadata[META_TASK] === 'regression'
        ? metadata[META_TASK]
        : 'unknown';
    const session = await openOnnxSession(modelFile, { intraOpNumThreads: 1 });
    return new ServingModel(
      {
        name: version.name,
        version: version.version,
        uri,
        task,
        features: columns.map((c) => c.name),
        columns,
        featureRefs: pkg.features,
        signature: pkg.signature,
      },
      Object.fromEntries(columns.flatMap((c) => (c.categories ? [[c.name, c.categories]] : []))),
      width,
      session,
    );
  }

  /**
   * Scores `rows` rows of `values` (row-major float32, `width` columns): class-1 probabilities
   * of a classifier, values of a regressor.
   * @throws KeelError INVALID_PARAMETER_VALUE for values of the wrong length; EXECUTION_FAILED when
   *   ONNX Runtime fails (the model's fault, which a canary's error count records).
   */
  async score(values: Float32Array, rows: number): Promise<Float64Array> {
    if (values.length !== rows * this.width)
      throw new KeelError(
        'INVALID_PARAMETER_VALUE',
        `the model takes ${this.width} values a row; got ${values.length} for ${rows} rows`,
      );
    const { Tensor } = await loadOrt();
    try {
      const out = await this.session.run({
        [this.session.inputNames[0]]: new Tensor('float32', values, [rows, this.width]),
      });
      return scoresOf(out, this.session.outputNames, rows);
    } catch (cause) {
      if (cause instanceof KeelError) throw cause;
      // The rows were checked against the model's columns already: a failure here is the model's.
      throw new KeelError(
        'EXECUTION_FAILED',
        `model '${this.info.name}' version ${this.info.version} failed to score ${rows} rows: ${(cause as Error).message}`,
        { cause },
      );
    }
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
