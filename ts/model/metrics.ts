/**
 * Metrics, computed on each batch's predictions in place (views into the
 * kernel's memory). Names follow TensorFlow.js: `accuracy` (reported as
 * `acc`) resolves to the accuracy that fits the loss.
 */
import type { LossName } from '../kernel/types.js';

/** The metric of loss sample `n` (a row of `width` predictions). */
export type SampleMetric = (pred: Float32Array, target: Float32Array, n: number, width: number) => number;

export interface Metric {
  /** The key in logs and history. */
  name: string;
  fn: SampleMetric;
}

/** Σₙ wₙ·metric(n) over the batch's loss samples (`wₙ = 1` without weights). */
export function metricSum(
  metric: Metric,
  pred: Float32Array,
  target: Float32Array,
  samples: number,
  width: number,
  weights?: Float32Array,
): number {
  let sum = 0;
  for (let n = 0; n < samples; n++) {
    const w = weights ? (weights[n] as number) : 1;
    if (w !== 0) sum += w * metric.fn(pred, target, n, width);
  }
  return sum;
}

const binaryAccuracy: SampleMetric = (pred, target, n, width) => {
  let hits = 0;
  for (let j = n * width; j < (n + 1) * width; j++) {
    hits += (pred[j] as number) > 0.5 === (target[j] as number) > 0.5 ? 1 : 0;
  }
  return hits / width;
};

/** The index of the largest of `values[start .. start + width]` (the first, on ties). */
export function argmax(values: Float32Array, start: number, width: number): number {
  let best = 0;
  for (let j = 1; j < width; j++)
    if ((values[start + j] as number) > (values[start + best] as number)) best = j;
  return best;
}

const categoricalAccuracy: SampleMetric = (pred, target, n, width) =>
  argmax(pred, n * width, width) === argmax(target, n * width, width) ? 1 : 0;

const sparseCategoricalAccuracy: SampleMetric = (pred, target, n, width) =>
  argmax(pred, n * width, width) === target[n] ? 1 : 0;

/** The mean over the row of `f(prediction, target)`. */
function meanOver(f: (p: number, y: number) => number): SampleMetric {
  return (pred, target, n, width) => {
    let sum = 0;
    for (let j = n * width; j < (n + 1) * width; j++) sum += f(pred[j] as number, target[j] as number);
    return sum / width;
  };
}

/** Keras' `backend.epsilon()`, as the kernel's losses clip with it. */
const EPSILON = 1e-7;
const squaredError = meanOver((p, y) => (p - y) ** 2);
const absoluteError = meanOver((p, y) => Math.abs(p - y));
const absolutePercentageError = meanOver((p, y) => (100 * Math.abs(p - y)) / Math.max(Math.abs(y), EPSILON));
const squaredLogarithmicError = meanOver(
  (p, y) => (Math.log1p(Math.max(p, EPSILON)) - Math.log1p(Math.max(y, EPSILON))) ** 2,
);

const byName: Record<string, SampleMetric> = {
  binaryAccuracy,
  categoricalAccuracy,
  sparseCategoricalAccuracy,
  mse: squaredError,
  meanSquaredError: squaredError,
  mae: absoluteError,
  meanAbsoluteError: absoluteError,
  mape: absolutePercentageError,
  meanAbsolutePercentageError: absolutePercentageError,
  msle: squaredLogarithmicError,
  meanSquaredLogarithmicError: squaredLogarithmicError,
};

/** Resolves a metric name for a model trained with `loss`. */
export function resolveMetric(name: string, loss: LossName): Metric {
  if (name === 'accuracy' || name === 'acc') {
    const fn =
      loss === 'categoricalCrossentropy'
        ? categoricalAccuracy
        : loss === 'sparseCategoricalCrossentropy'
          ? sparseCategoricalAccuracy
          : binaryAccuracy;
    return { name: 'acc', fn };
  }
  const fn = byName[name];
  if (!fn) {
    throw new Error(`unknown metric '${name}' (expected accuracy, ${Object.keys(byName).join(', ')})`);
  }
  return { name, fn };
}
