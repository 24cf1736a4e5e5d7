/**
 * @module ml
 * Keel's built-in training: logistic regression and histogram gradient-boosted trees over typed
 * arrays, ONNX export, ONNX signature reading, evaluation and fairness metrics.
 */
export * from './compare-models.js';
export * from './dataset.js';
export * from './evaluate.js';
export * from './fairness.js';
export * from './gbdt.js';
export * from './load.js';
export * from './logistic.js';
export * from './metrics.js';
export * from './mlflow-model.js';
export type { IterationMetrics, Objective } from './objective.js';
export * from './onnx-columns.js';
export * from './onnx-export.js';
export * from './onnx-io.js';
export * from './onnx-optimized.js';
export * from './onnx-predict.js';
export { ELEM_TYPES, onnx } from './onnx-proto.js';
export * from './onnx-quantize.js';
export * from './onnx-session.js';
export * from './onnx-signature.js';
export { Rng } from './random.js';
export * from './train-config.js';
export type { Tree } from './tree.js';
