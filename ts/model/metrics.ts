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
import { LOSSES, lossNamed } from './losses.js';

/**
 * A metric with arguments (Keras' metric objects, made by `gw.metrics.*`),
 * as plain data, so that it travels to workers as it is.
 */
export type MetricConfig =
  | ({ kind: 'auc' } & AucArgs)
  | ({ kind: 'precision' | 'recall' } & ThresholdArgs)
  | ({ kind: 'topKCategoricalAccuracy' | 'sparseTopKCategoricalAccuracy' } & TopKArgs);

interface NamedArgs {
  /** The key in logs and history; default the metric's kind. */
  name?: string;
}

export interface AucArgs extends NamedArgs {
  /** Default ROC. */
  curve?: 'ROC' | 'PR';
  /** Default 200. */
  numThresholds?: number;
}

export interface ThresholdArgs extends NamedArgs {
  /** A prediction above it is positive; default 0.5. */
  threshold?: number;
}

export interface TopKArgs extends NamedArgs {
  /** Default 5. */
  k?: number;
}

/** What `compile` takes for a metric: a name, or a metric with arguments. */
export type MetricSpec = string | MetricConfig;

/** The metric of loss sample `n` (a row of `width` predictions). */
export type SampleMetric = (pred: Float32Array, target: Float32Array, n: number, width: number) => number;

export interface Metric {
  /** The key in logs and history. */
  name: string;
  /** What it was made from (for workers, which make their own). */
  spec: MetricSpec;
  /** How many statistics `statistics` returns. */
  size: number;
  /**
   * A loss the kernel computes for this metric (Keras' losses as metrics):
   * the batch's weighted sum of it, `lossSum`, is given to `statistics`.
   */
  kernelLoss?: LossName;
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
    lossSum?: number,
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

/** A metric before `resolveMetric` records what it was made from. */
type Unnamed = Omit<Metric, 'spec'>;

/** The weighted mean of a per-sample metric: statistics `[Σ w·metric, Σ w]`. */
function mean(name: string, fn: SampleMetric): Unnamed {
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
 * A loss as a metric (Keras' `metrics=['binary_crossentropy']`), computed by
 * the kernel as the loss is: statistics `[Σ w·loss, Σ w]` over the loss
 * samples that count, unweighted otherwise (as Keras' plain metrics).
 */
function lossMetric(name: string, loss: LossName): Unnamed {
  return {
    name,
    size: 2,
    kernelLoss: loss,
    statistics(_pred, _target, samples, _width, weights, lossSum = 0) {
      let weight = 0;
      eachSample(samples, weights, (_n, w) => {
        weight += w;
      });
      return [lossSum, weight];
    },
    result: ([sum = 0, weight = 0]) => ratio(sum, weight),
  };
}

/**
 * Keras' `Precision` (true positives over predicted positives) or `Recall`
 * (over actual positives), over every output value: a prediction above
 * `threshold` is positive, a nonzero target is. Statistics `[true
 * positives, denominator]`, weighted.
 */
function confusionRatio(name: string, over: 'predicted' | 'actual', threshold: number): Unnamed {
  return {
    name,
    size: 2,
    statistics(pred, target, samples, width, weights) {
      let [truePositives, denominator] = [0, 0];
      eachValue(pred, target, samples, width, weights, (p, y, w) => {
        const [predicted, actual] = [p > threshold, y !== 0];
        if (predicted && actual) truePositives += w;
        if (over === 'predicted' ? predicted : actual) denominator += w;
      });
      return [truePositives, denominator];
    },
    result: ([truePositives = 0, denominator = 0]) => ratio(truePositives, denominator),
  };
}

/** Keras' AUC thresholds: −ε, 1/(n−1) … (n−2)/(n−1), 1 + ε (as float32). */
function aucThresholds(count: number): Float32Array {
  return Float32Array.from({ length: count }, (_, i) =>
    i === 0 ? -1e-7 : i === count - 1 ? 1 + 1e-7 : i / (count - 1),
  );
}

/** How many of `thresholds` lie strictly below `p` (0 … their count). */
function thresholdsBelow(thresholds: Float32Array, p: number): number {
  let [lo, hi] = [0, thresholds.length];
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((thresholds[mid] as number) < p) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The confusion counts at each threshold: true and false positives (values above it), and all positives. */
interface Confusion {
  truePositives: number[];
  falsePositives: number[];
  positives: number;
  negatives: number;
}

/** ROC's area by trapezoids over the thresholds (Keras' `AUC()` default). */
function rocArea({ truePositives, falsePositives, positives, negatives }: Confusion): number {
  const tpr = truePositives.map((tp) => ratio(tp, positives));
  const fpr = falsePositives.map((fp) => ratio(fp, negatives));
  let area = 0;
  for (let t = 0; t + 1 < tpr.length; t++) {
    area +=
      ((fpr[t] as number) - (fpr[t + 1] as number)) * (((tpr[t] as number) + (tpr[t + 1] as number)) / 2);
  }
  return area;
}

/**
 * The precision–recall curve's area as Keras computes it (`AUC(curve='PR')`,
 * Davis & Goadrich's interpolation): between two thresholds, precision
 * follows the line of true positives against predicted positives, whose
 * integral over recall has a closed form.
 */
function prArea({ truePositives: tp, falsePositives: fp, positives }: Confusion): number {
  let area = 0;
  for (let t = 0; t + 1 < tp.length; t++) {
    const [tpHere, tpNext] = [tp[t] as number, tp[t + 1] as number];
    const [pHere, pNext] = [tpHere + (fp[t] as number), tpNext + (fp[t + 1] as number)];
    const dtp = tpHere - tpNext;
    const slope = ratio(dtp, Math.max(pHere - pNext, 0));
    const intercept = tpNext - slope * pNext;
    const pRatio = pHere > 0 && pNext > 0 ? pHere / pNext : 1;
    area += ratio(slope * (dtp + intercept * Math.log(pRatio)), Math.max(positives, 0));
  }
  return area;
}

/**
 * Keras' `AUC`: the area under the ROC or precision–recall curve at
 * `count` thresholds, over every output value (a nonzero target is
 * positive). Statistics: the weighted counts of positive and of negative
 * values by how many thresholds lie below them (count + 1 each), from which
 * each threshold's true and false positives follow.
 */
function areaUnderCurve(name: string, curve: 'ROC' | 'PR', count: number): Unnamed {
  const thresholds = aucThresholds(count);
  const buckets = count + 1;
  return {
    name,
    size: 2 * buckets,
    statistics(pred, target, samples, width, weights) {
      const counts = new Float64Array(2 * buckets);
      eachValue(pred, target, samples, width, weights, (p, y, w) => {
        const at = (y !== 0 ? 0 : buckets) + thresholdsBelow(thresholds, p);
        counts[at] = (counts[at] as number) + w;
      });
      return Array.from(counts);
    },
    result(sums) {
      // Values above threshold t are those in buckets t + 1 and up.
      const above = (offset: number) => {
        const counts = new Array<number>(count).fill(0);
        let total = sums[offset + buckets - 1] ?? 0;
        for (let t = count - 1; t >= 0; t--) {
          counts[t] = total;
          total += sums[offset + t] ?? 0;
        }
        return { counts, total };
      };
      const [positive, negative] = [above(0), above(buckets)];
      const confusion = {
        truePositives: positive.counts,
        falsePositives: negative.counts,
        positives: positive.total,
        negatives: negative.total,
      };
      return curve === 'ROC' ? rocArea(confusion) : prArea(confusion);
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

/**
 * Keras' top-k accuracy: a hit when fewer than `k` classes score above the
 * target's class (the target's argmax, or its index), so ties at the k-th
 * place count as in (as TensorFlow's `in_top_k`).
 */
function topK(k: number, sparse: boolean): SampleMetric {
  return (pred, target, n, width) => {
    const start = n * width;
    const label = sparse ? (target[n] as number) : argmax(target, start, width);
    const score = pred[start + label] as number;
    let above = 0;
    for (let j = 0; j < width; j++) if ((pred[start + j] as number) > score) above++;
    return above < k ? 1 : 0;
  };
}

/**
 * The losses also taken as metrics. Not the cosine similarity: Keras' metric
 * of that name is the similarity, its loss (and TensorFlow.js' metric
 * `cosineProximity`) the negated one.
 */
const LOSS_METRICS = LOSSES.filter((loss) => loss !== 'cosineSimilarity' && !Object.hasOwn(means, loss));

const NAMES = [
  'accuracy',
  ...Object.keys(means),
  ...Object.keys(confusionRatios),
  'auc',
  'topKCategoricalAccuracy',
  'sparseTopKCategoricalAccuracy',
  ...LOSS_METRICS,
];

function positiveInteger(what: string, value: number, least: number): number {
  if (!(Number.isInteger(value) && value >= least)) {
    throw new Error(`metric ${what} must be an integer of at least ${least}, got ${value}`);
  }
  return value;
}

/** The metric a name or `gw.metrics.*` object stands for, in a model trained with `loss`. */
function unnamed(spec: MetricSpec, loss: LossName): Unnamed {
  if (typeof spec === 'string') {
    if (spec === 'accuracy' || spec === 'acc') {
      const fn =
        loss === 'categoricalCrossentropy'
          ? categoricalAccuracy
          : loss === 'sparseCategoricalCrossentropy'
            ? sparseCategoricalAccuracy
            : binaryAccuracy;
      return mean('acc', fn);
    }
    if (spec === 'AUC') return unnamed({ kind: 'auc' }, loss);
    if (spec === 'auc' || spec === 'precision' || spec === 'recall') return unnamed({ kind: spec }, loss);
    if (spec === 'topKCategoricalAccuracy' || spec === 'sparseTopKCategoricalAccuracy')
      return unnamed({ kind: spec }, loss);
    const asLoss = lossNamed(spec);
    if (asLoss !== undefined && LOSS_METRICS.includes(asLoss)) return lossMetric(spec, asLoss);
    const fn = Object.hasOwn(means, spec) ? means[spec] : undefined;
    if (!fn) throw new Error(`unknown metric '${spec}' (expected ${NAMES.join(', ')})`);
    return mean(spec, fn);
  }
  switch (spec.kind) {
    case 'auc': {
      const curve = spec.curve ?? 'ROC';
      if (curve !== 'ROC' && curve !== 'PR')
        throw new Error(`metric auc: curve must be ROC or PR, got ${curve}`);
      const count = positiveInteger('auc: numThresholds', spec.numThresholds ?? 200, 2);
      return areaUnderCurve(spec.name ?? 'auc', curve, count);
    }
    case 'precision':
    case 'recall': {
      const threshold = spec.threshold ?? 0.5;
      if (!(threshold >= 0 && threshold <= 1))
        throw new Error(`metric ${spec.kind}: threshold must be in [0, 1], got ${threshold}`);
      return confusionRatio(spec.name ?? spec.kind, confusionRatios[spec.kind], threshold);
    }
    case 'topKCategoricalAccuracy':
    case 'sparseTopKCategoricalAccuracy': {
      const k = positiveInteger(`${spec.kind}: k`, spec.k ?? 5, 1);
      return mean(spec.name ?? spec.kind, topK(k, spec.kind === 'sparseTopKCategoricalAccuracy'));
    }
    default:
      throw new Error(`unknown metric kind '${(spec as { kind: unknown }).kind}'`);
  }
}

/** Resolves a metric name, or a metric with arguments, for a model trained with `loss`. */
export function resolveMetric(spec: MetricSpec, loss: LossName): Metric {
  return { ...unnamed(spec, loss), spec };
}
