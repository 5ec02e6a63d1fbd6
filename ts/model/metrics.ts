/**
 * Metrics, computed on each batch's predictions in place (views into the
 * kernel's memory). Names follow TensorFlow.js: `accuracy` (reported as
 * `acc`) resolves to the accuracy that fits the loss. Each metric sums a
 * few statistics over the batches (and workers' shares of a batch) and is
 * computed from their totals, as Keras' stateful metrics are: a mean from
 * its sum and weight, precision from true and predicted positives, AUC
 * from histograms of the predictions.
 */
import type { LossName } from '../kernel/types.js';

/** The metric of loss sample `n` (a row of `width` predictions). */
export type SampleMetric = (pred: Float32Array, target: Float32Array, n: number, width: number) => number;

export interface Metric {
  /** The key in logs and history. */
  name: string;
  /** How many statistics `statistics` returns. */
  size: number;
  /**
   * The statistics of one batch's `samples` loss samples (rows of `width`),
   * each weighed by `weights[n]` (1 without; 0 for a padded step).
   */
  statistics(
    pred: Float32Array,
    target: Float32Array,
    samples: number,
    width: number,
    weights?: Float32Array,
  ): number[];
  /** The metric from statistics summed over batches. */
  result(sums: readonly number[]): number;
}

/** A ratio whose denominator is 0 counts as 0 (Keras' `divide_no_nan`). */
const ratio = (numerator: number, denominator: number) => (denominator > 0 ? numerator / denominator : 0);

/** Calls `visit` with each loss sample that counts and its weight (1 without weights; padded steps skipped). */
function eachSample(
  samples: number,
  weights: Float32Array | undefined,
  visit: (n: number, weight: number) => void,
): void {
  for (let n = 0; n < samples; n++) {
    const w = weights ? (weights[n] as number) : 1;
    if (w !== 0) visit(n, w);
  }
}

/** Calls `visit` with each output value of the loss samples that count, its target and its sample's weight. */
function eachValue(
  pred: Float32Array,
  target: Float32Array,
  samples: number,
  width: number,
  weights: Float32Array | undefined,
  visit: (prediction: number, target: number, weight: number) => void,
): void {
  eachSample(samples, weights, (n, w) => {
    for (let j = n * width; j < (n + 1) * width; j++) visit(pred[j] as number, target[j] as number, w);
  });
}

/** The weighted mean of a per-sample metric: statistics `[Σ w·metric, Σ w]`. */
function mean(name: string, fn: SampleMetric): Metric {
  return {
    name,
    size: 2,
    statistics(pred, target, samples, width, weights) {
      let [sum, weight] = [0, 0];
      eachSample(samples, weights, (n, w) => {
        sum += w * fn(pred, target, n, width);
        weight += w;
      });
      return [sum, weight];
    },
    result: ([sum = 0, weight = 0]) => ratio(sum, weight),
  };
}

/**
 * Keras' `Precision` (true positives over predicted positives) or `Recall`
 * (over actual positives) at threshold 0.5, over every output value: a
 * prediction above 0.5 is positive, a nonzero target is. Statistics
 * `[true positives, denominator]`, weighted.
 */
function confusionRatio(name: string, over: 'predicted' | 'actual'): Metric {
  return {
    name,
    size: 2,
    statistics(pred, target, samples, width, weights) {
      let [truePositives, denominator] = [0, 0];
      eachValue(pred, target, samples, width, weights, (p, y, w) => {
        const [predicted, actual] = [p > 0.5, y !== 0];
        if (predicted && actual) truePositives += w;
        if (over === 'predicted' ? predicted : actual) denominator += w;
      });
      return [truePositives, denominator];
    },
    result: ([truePositives = 0, denominator = 0]) => ratio(truePositives, denominator),
  };
}

/** Keras' `AUC()` thresholds: −ε, 1/199 … 198/199, 1 + ε (as float32). */
const AUC_THRESHOLDS = Float32Array.from({ length: 200 }, (_, i) =>
  i === 0 ? -1e-7 : i === 199 ? 1 + 1e-7 : i / 199,
);

/** How many of the AUC thresholds lie strictly below `p` (0 … 200). */
function thresholdsBelow(p: number): number {
  let [lo, hi] = [0, AUC_THRESHOLDS.length];
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((AUC_THRESHOLDS[mid] as number) < p) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Keras' `AUC()`: the area under the ROC curve over 200 thresholds, by
 * trapezoids, over every output value (a nonzero target is positive).
 * Statistics: the weighted counts of positive and of negative values by how
 * many thresholds lie below them (201 each), from which each threshold's
 * true and false positives follow.
 */
function rocAuc(name: string): Metric {
  const buckets = AUC_THRESHOLDS.length + 1;
  return {
    name,
    size: 2 * buckets,
    statistics(pred, target, samples, width, weights) {
      const counts = new Float64Array(2 * buckets);
      eachValue(pred, target, samples, width, weights, (p, y, w) => {
        const at = (y !== 0 ? 0 : buckets) + thresholdsBelow(p);
        counts[at] = (counts[at] as number) + w;
      });
      return Array.from(counts);
    },
    result(sums) {
      // Values above threshold t are those in buckets t + 1 and up.
      const above = (offset: number) => {
        const counts = new Array<number>(AUC_THRESHOLDS.length).fill(0);
        let total = sums[offset + buckets - 1] ?? 0;
        for (let t = AUC_THRESHOLDS.length - 1; t >= 0; t--) {
          counts[t] = total;
          total += sums[offset + t] ?? 0;
        }
        return { counts, total };
      };
      const [positives, negatives] = [above(0), above(buckets)];
      const tpr = positives.counts.map((tp) => ratio(tp, positives.total));
      const fpr = negatives.counts.map((fp) => ratio(fp, negatives.total));
      let area = 0;
      for (let t = 0; t + 1 < tpr.length; t++) {
        area +=
          ((fpr[t] as number) - (fpr[t + 1] as number)) * (((tpr[t] as number) + (tpr[t + 1] as number)) / 2);
      }
      return area;
    },
  };
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

const means: Record<string, SampleMetric> = {
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

const confusionRatios = { precision: 'predicted', recall: 'actual' } as const;

/** Resolves a metric name for a model trained with `loss`. */
export function resolveMetric(name: string, loss: LossName): Metric {
  if (name === 'accuracy' || name === 'acc') {
    const fn =
      loss === 'categoricalCrossentropy'
        ? categoricalAccuracy
        : loss === 'sparseCategoricalCrossentropy'
          ? sparseCategoricalAccuracy
          : binaryAccuracy;
    return mean('acc', fn);
  }
  if (name === 'auc' || name === 'AUC') return rocAuc('auc');
  if (Object.hasOwn(confusionRatios, name)) {
    return confusionRatio(name, confusionRatios[name as keyof typeof confusionRatios]);
  }
  const fn = means[name];
  if (!fn) {
    throw new Error(
      `unknown metric '${name}' (expected accuracy, ${[...Object.keys(means), ...Object.keys(confusionRatios), 'auc'].join(', ')})`,
    );
  }
  return mean(name, fn);
}
