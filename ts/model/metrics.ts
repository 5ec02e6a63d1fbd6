/**
 * Metrics, computed on each batch's predictions in place (views into the
 * kernel's memory) and averaged over samples. Names follow TensorFlow.js:
 * `accuracy` (reported as `acc`) resolves to the accuracy that fits the loss.
 */
import type { LossName } from '../kernel/types.js';

/** Sum over the batch's samples of the per-sample metric. */
export type MetricFn = (pred: Float32Array, target: Float32Array, samples: number, width: number) => number;

export interface Metric {
  /** The key in logs and history. */
  name: string;
  fn: MetricFn;
}

const binaryAccuracy: MetricFn = (pred, target, samples, width) => {
  let sum = 0;
  for (let n = 0; n < samples; n++) {
    let hits = 0;
    for (let j = 0; j < width; j++) {
      const i = n * width + j;
      hits += Number((pred[i] as number) > 0.5) === Number((target[i] as number) > 0.5) ? 1 : 0;
    }
    sum += hits / width;
  }
  return sum;
};

function argmax(values: Float32Array, start: number, width: number): number {
  let best = 0;
  for (let j = 1; j < width; j++)
    if ((values[start + j] as number) > (values[start + best] as number)) best = j;
  return best;
}

const categoricalAccuracy: MetricFn = (pred, target, samples, width) => {
  let sum = 0;
  for (let n = 0; n < samples; n++)
    sum += argmax(pred, n * width, width) === argmax(target, n * width, width) ? 1 : 0;
  return sum;
};

const sparseCategoricalAccuracy: MetricFn = (pred, target, samples, width) => {
  let sum = 0;
  for (let n = 0; n < samples; n++) sum += argmax(pred, n * width, width) === target[n] ? 1 : 0;
  return sum;
};

function meanOver(f: (d: number) => number): MetricFn {
  return (pred, target, samples, width) => {
    let sum = 0;
    for (let i = 0; i < samples * width; i++) sum += f((pred[i] as number) - (target[i] as number));
    return sum / width;
  };
}

const byName: Record<string, MetricFn> = {
  binaryAccuracy,
  categoricalAccuracy,
  sparseCategoricalAccuracy,
  mse: meanOver((d) => d * d),
  meanSquaredError: meanOver((d) => d * d),
  mae: meanOver(Math.abs),
  meanAbsoluteError: meanOver(Math.abs),
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
