/**
 * gru-wasm: GRU networks trained and run on the CPU by a Rust kernel compiled
 * to SIMD WebAssembly, behind a Keras / TensorFlow.js-style API.
 *
 * ```ts
 * import * as gw from 'gru-wasm';
 * await gw.ready();
 * const model = gw.sequential();
 * model.add(gw.layers.gru({ units: 32, inputShape: [steps, features] }));
 * model.add(gw.layers.dense({ units: 1, activation: 'sigmoid' }));
 * model.compile({ optimizer: gw.optimizers.adam(), loss: 'binaryCrossentropy', metrics: ['accuracy'] });
 * await model.fit(x, y, { epochs: 10 });
 * ```
 */
import { maxNorm, minMaxNorm, nonNeg, unitNorm } from './layers/constraints.js';
import { Sequential } from './model/sequential.js';

export { kernel, ready } from './backend.js';
export { modelFromArtifacts, modelToArtifacts } from './io/artifacts.js';
export { loadModel, type SaveResult } from './io/model-io.js';
export { importPyTorchGru, type PyTorchGruOptions } from './io/pytorch.js';
export { readSafetensors, type SafeTensor, writeSafetensors } from './io/safetensors.js';
export { Kernel } from './kernel/kernel.js';
export {
  defaultFlavour,
  type KernelFlavour,
  type KernelOptions,
  relaxedAvailable,
  threadsAvailable,
} from './kernel/load.js';
export {
  type Activation,
  type Constraint,
  type ConstraintAxis,
  DEFAULT_GRU_CONFIG,
  type DenseDims,
  type GradientClipping,
  type GruConfig,
  type GruDims,
  type GruWeights,
  type InitializerName,
  type LossName,
  type Ptr,
  type Regularizer,
} from './kernel/types.js';
export * as layers from './layers/index.js';
export type { Callback, Logs } from './model/callbacks.js';
export * as callbacks from './model/callbacks.js';
export type { Dataset, DatasetBatch, FitDatasetArgs } from './model/dataset.js';
export * as metrics from './model/metric-configs.js';
export type { MetricConfig, MetricSpec } from './model/metrics.js';
export { type CompileArgs, Sequential } from './model/sequential.js';
export type { FitArgs, History } from './model/training.js';
export * as optimizers from './optimizers/index.js';
export * as schedules from './optimizers/schedules.js';
export { setRandomSeed } from './random.js';
export { type NestedArray, type Shape, Tensor, tensor } from './tensor.js';
export { createInferencePool, InferencePool, type InferencePoolOptions } from './worker/inference-pool.js';
export type { Traffic } from './worker/workers.js';

/** Weight constraints for layers' `kernelConstraint` and the like, named as in TensorFlow.js' `tf.constraints`. */
export const constraints = { maxNorm, minMaxNorm, nonNeg, unitNorm } as const;

/** A new, empty Sequential model (the kernel must be loaded: `await gw.ready()`). */
export function sequential(): Sequential {
  return new Sequential();
}
