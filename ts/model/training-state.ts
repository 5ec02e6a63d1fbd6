/**
 * A model's training state: its weights, its optimizer's step count, rate and
 * state tensors, and its layers' random generator positions. Captured and
 * applied whole, so a model handed between threads (or restored from a
 * checkpoint) continues exactly where the other left off.
 */
import type { OptimizerState } from '../optimizers/optimizer.js';
import type { Sequential } from './sequential.js';

export interface TrainingState {
  /** Every weight's values, in `getWeights()` order. */
  weights: Float32Array[];
  optimizer: OptimizerState;
  /** Per layer, its random generators' positions (dropout). */
  layerRandom: number[][];
}

export function captureTrainingState(model: Sequential): TrainingState {
  return {
    weights: model.snapshotWeights(),
    optimizer: model.optimizer.exportState(),
    layerRandom: model.layers.map((l) => l.randomPositions()),
  };
}

/** Writes `state` into `model` (weights first: they are checked whole before any is written). */
export function applyTrainingState(model: Sequential, state: TrainingState): void {
  model.setWeights(state.weights);
  model.optimizer.importState(
    model.kernel,
    model.trainableWeights().map((w) => w.ptr),
    state.optimizer,
  );
  model.layers.forEach((layer, i) => {
    layer.restoreRandomPositions(state.layerRandom[i] ?? []);
  });
}

/** Every buffer `state` holds, to transfer instead of copying. */
export function stateBuffers(state: TrainingState): ArrayBuffer[] {
  return [...state.weights, ...state.optimizer.slots.flatMap((s) => s.values)].map(
    (v) => v.buffer as ArrayBuffer,
  );
}
