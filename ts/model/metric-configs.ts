/**
 * Metrics with arguments, as Keras' metric objects take them:
 * `compile({ metrics: [gw.metrics.auc({ curve: 'PR' })] })`. Each is plain
 * data (see `MetricConfig`); `name` sets its key in logs and history.
 */
import type { AucArgs, MetricConfig, ThresholdArgs, TopKArgs } from './metrics.js';

/** Keras' `AUC`: the area under the ROC (default) or precision–recall curve, at `numThresholds` (200). */
export function auc(args: AucArgs = {}): MetricConfig {
  return { kind: 'auc', ...args };
}

/** Keras' `Precision`: a prediction above `threshold` (0.5) is positive. */
export function precision(args: ThresholdArgs = {}): MetricConfig {
  return { kind: 'precision', ...args };
}

/** Keras' `Recall`: a prediction above `threshold` (0.5) is positive. */
export function recall(args: ThresholdArgs = {}): MetricConfig {
  return { kind: 'recall', ...args };
}

/** Keras' `TopKCategoricalAccuracy`: the one-hot target's class among the `k` (5) highest predictions. */
export function topKCategoricalAccuracy(args: TopKArgs = {}): MetricConfig {
  return { kind: 'topKCategoricalAccuracy', ...args };
}

/** Keras' `SparseTopKCategoricalAccuracy`: the class index among the `k` (5) highest predictions. */
export function sparseTopKCategoricalAccuracy(args: TopKArgs = {}): MetricConfig {
  return { kind: 'sparseTopKCategoricalAccuracy', ...args };
}
