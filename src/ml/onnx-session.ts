/**
 * @module ml/onnx-session
 * The one place Keel opens ONNX Runtime sessions, and the session options they get. onnxruntime-node
 * loads on first use, so commands that never touch a model do not pay for it; a model ONNX Runtime
 * refuses becomes a KeelError naming the file.
 *
 * Every session runs with ONNX Runtime's full graph optimizations and one intra-op and one
 * inter-op thread (sequential execution) unless told otherwise: Keel serves with one process per
 * core (`keel serve --workers`), where a session that spreads one call over every core only makes
 * the processes fight for them. keel.yaml's `serving.onnx` changes this for serving and scoring.
 */
import { stat } from 'node:fs/promises';
import { KeelError, type SessionSettings } from '../core/index.js';

export type Ort = typeof import('onnxruntime-node');
export type OnnxSession = import('onnxruntime-node').InferenceSession;
export type { SessionSettings };

/** What every session gets unless settings say otherwise: tuned for one serving process per core. */
export const DEFAULT_SESSION_SETTINGS: Required<SessionSettings> = {
  graphOptimizationLevel: 'all',
  intraOpThreads: 1,
  interOpThreads: 1,
};

let ort: Promise<Ort> | undefined;

/** The onnxruntime-node module, imported once. */
export const loadOrt = (): Promise<Ort> => {
  ort ??= import('onnxruntime-node').then((m) => (m as unknown as { default?: Ort }).default ?? m);
  return ort;
};

/** Session options Keel sets only for one session: where to save its optimized graph, its log level. */
export interface SessionExtras {
  optimizedModelFilePath?: string;
  logSeverityLevel?: 0 | 1 | 2 | 3 | 4;
}

/** ONNX Runtime's session options for `settings` over the defaults. */
export function sessionOptions(
  settings: SessionSettings = {},
  extra: SessionExtras = {},
): import('onnxruntime-node').InferenceSession.SessionOptions {
  const s = { ...DEFAULT_SESSION_SETTINGS, ...settings };
  return {
    graphOptimizationLevel: s.graphOptimizationLevel,
    intraOpNumThreads: s.intraOpThreads,
    interOpNumThreads: s.interOpThreads,
    executionMode: s.interOpThreads > 1 ? 'parallel' : 'sequential',
    ...extra,
  };
}

/**
 * Opens an ONNX model (a file path or its bytes) in ONNX Runtime with `settings` over the
 * defaults; `extra.optimizedModelFilePath` has ONNX Runtime write the graph it optimized there.
 * @throws KeelError INVALID_PARAMETER_VALUE naming the file when it is missing or not a valid ONNX model.
 */
export async function openOnnxSession(
  model: string | Uint8Array,
  settings: SessionSettings = {},
  extra: SessionExtras = {},
): Promise<OnnxSession> {
  const what = typeof model === 'string' ? `'${model}'` : 'the given model bytes';
  if (typeof model === 'string' && !(await stat(model).catch(() => undefined))?.isFile()) {
    throw new KeelError('INVALID_PARAMETER_VALUE', `Model file ${what} does not exist`);
  }
  const { InferenceSession } = await loadOrt();
  const options = sessionOptions(settings, extra);
  try {
    // Two calls because the overloads take a path or bytes, not their union.
    return typeof model === 'string'
      ? await InferenceSession.create(model, options)
      : await InferenceSession.create(model, options);
  } catch (err) {
    throw new KeelError(
      'INVALID_PARAMETER_VALUE',
      `${what} is not a valid ONNX model: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
}
