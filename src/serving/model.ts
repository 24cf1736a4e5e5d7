/**
 * @module serving/model
 * One registered model version loaded for serving: its ONNX Runtime session, the names of its
 * input columns in order, category lists for text columns, and the feature references the online
 * store is asked for. Keel's own models carry their column names and categories in the ONNX
 * metadata; a foreign model takes its names from its inputs when it has one per column (as
 * skl2onnx exports several inputs), else from the version's feature references, or is fed by
 * position only. Its task and score output are read from its graph (`modelIo`).
 */
import { join } from 'node:path';
import { type KeelConfig, KeelError, type OffloadSettings, type SessionSettings } from '../core/index.js';
import {
  inputFeeds,
  loadOrt,
  type ModelIo,
  modelIo,
  type OnnxSession,
  type OptimizedModel,
  openCachedSession,
  readOnnxSignature,
  scoresFromOutput,
} from '../ml/index.js';
import type { Registry, Signature } from '../registry/index.js';
import { type InputColumn, inputColumns } from './columns.js';
import { ScorePool } from './score-pool.js';

/** What a served model tells its callers (OIP metadata, `/predict` responses). */
export interface ServingModelInfo {
  name: string;
  version: string;
  /** The URI it was loaded from, e.g. `models:/churn@champion`. */
  uri: string;
  /** `binary` (scores are class-1 probabilities) or `regression`, as the model's outputs say. */
  task: 'binary' | 'regression';
  /** Input column names in order; empty when the model can only be fed by position. */
  features: string[];
  /** The same columns with their types and categories. */
  columns: InputColumn[];
  /** `view:feature` references to look the inputs up online by entity keys. */
  featureRefs: string[];
  signature: Signature;
}

/** How a served model's ONNX Runtime session is made (keel.yaml `serving.onnx`, Keel's home). */
export interface SessionOptions {
  /** ONNX Runtime settings over Keel's defaults (ml/onnx-session). */
  session?: SessionSettings;
  /** Where ONNX Runtime's optimized graphs are kept (ml/onnx-optimized); none kept without it. */
  optimizedCacheDir?: string;
  /** Worker threads large calls are scored on (serving/score-pool); none without it. */
  offload?: OffloadSettings;
}

/** The session options keel.yaml gives (`serving.onnx`), with the optimized graphs kept in Keel's home. */
export const sessionOptionsFrom = (config: Pick<KeelConfig, 'home' | 'serving'>): SessionOptions => ({
  session: config.serving?.onnx,
  optimizedCacheDir: join(config.home, 'onnx-optimized'),
  offload: config.serving?.offload,
});

export class ServingModel {
  private constructor(
    readonly info: ServingModelInfo,
    /** Category lists of text columns: a value's code is its index. */
    readonly categories: Readonly<Record<string, readonly string[]>>,
    /** Values a row. */
    readonly width: number,
    private readonly session: OnnxSession,
    private readonly io: ModelIo,
    /** The optimized graph the session was opened from or saved to, when one is kept. */
    readonly optimized?: OptimizedModel & { reused: boolean },
    private readonly pool?: ScorePool,
  ) {}

  /**
   * Loads the version `uri` names (`models:/name/3`, `models:/name@alias`, `models:/name/Stage`).
   * @throws KeelError RESOURCE_DOES_NOT_EXIST for an unknown model, version or alias;
   *   INVALID_PARAMETER_VALUE for inputs Keel cannot feed (see `modelIo`) or a width not fixed;
   *   EXECUTION_FAILED when a score thread (`options.offload`) dies as it starts.
   */
  static async load(registry: Registry, uri: string, options: SessionOptions = {}): Promise<ServingModel> {
    const resolved = await registry.resolveModelUri(uri);
    const { version, package: pkg, modelFile } = resolved;
    const metadata = readOnnxSignature(modelFile).metadata;
    const io = modelIo(modelFile);
    const width = io.width;
    if (width === null) {
      throw new KeelError(
        'INVALID_PARAMETER_VALUE',
        `${uri} (version ${version.version}) cannot be served: its input '${io.inputs[0].name}' has no fixed width; Keel serves one input [N, F] or one [N, 1] input per column`,
      );
    }
    const columns = inputColumns(
      metadata,
      pkg.features,
      width,
      io.layout === 'columns' ? io.inputs.map((i) => i.name) : undefined,
    );
    // The file's sha256 was recorded at registration and verified just now; bytes Keel rewrote have their own.
    const served = pkg.model_path?.slice(pkg.folder.length + 1);
    const model = io.rewritten ? io.bytes : modelFile;
    const cache = {
      dir: options.optimizedCacheDir,
      sourceSha256: io.rewritten || !served ? undefined : pkg.files?.[served],
    };
    const { session, optimized } = await openCachedSession(model, options.session, cache);
    // Its threads open the model as the main session did: the optimized graph saved just now, if kept.
    const pool =
      options.offload && new ScorePool({ model, settings: options.session, cache, io }, options.offload);
    try {
      await pool?.start();
    } catch (cause) {
      await Promise.all([pool?.close(), session.release()]);
      if (cause instanceof KeelError) throw cause;
      throw new KeelError(
        'EXECUTION_FAILED',
        `${uri} (version ${version.version}): its score threads did not start: ${(cause as Error).message}`,
        { cause },
      );
    }
    return new ServingModel(
      {
        name: version.name,
        version: version.version,
        uri,
        task: io.task,
        features: columns.map((c) => c.name),
        columns,
        featureRefs: pkg.features,
        signature: pkg.signature,
      },
      Object.fromEntries(columns.flatMap((c) => (c.categories ? [[c.name, c.categories]] : []))),
      width,
      session,
      io,
      optimized,
      pool,
    );
  }

  /** Calls scored on worker threads so far (keel.yaml `serving.offload`); 0 without them. */
  get offloaded(): number {
    return this.pool?.calls ?? 0;
  }

  /** Worker threads running now. */
  get scoreThreads(): number {
    return this.pool?.size ?? 0;
  }

  /**
   * Scores `rows` rows of `values` (row-major float32, `width` columns): class-1 probabilities
   * of a classifier, values of a regressor. With `serving.offload`, a call of `minRows` rows or
   * more runs on a worker thread's session, with the same scores; `values` stays the caller's.
   * @throws KeelError INVALID_PARAMETER_VALUE for values of the wrong length; EXECUTION_FAILED when
   *   ONNX Runtime fails (the model's fault, which a canary's error count records) or its thread dies.
   */
  async score(values: Float32Array, rows: number): Promise<Float64Array> {
    if (values.length !== rows * this.width)
      throw new KeelError(
        'INVALID_PARAMETER_VALUE',
        `the model takes ${this.width} values a row; got ${values.length} for ${rows} rows`,
      );
    try {
      if (this.pool && rows >= this.pool.minRows) return await this.pool.score(values, rows, this.width);
      const ort = await loadOrt();
      const feeds = inputFeeds(ort, this.io, values, rows, this.width);
      const out = await this.session.run(feeds, [this.io.output]);
      return scoresFromOutput(out, this.io, rows);
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
    await Promise.all([this.pool?.close(), this.session.release()]);
  }
}
