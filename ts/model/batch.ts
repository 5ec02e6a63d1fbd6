/** Per-batch sums of loss and metrics, and their averages over an epoch, as Keras reports them. */
import type { Logs } from './callbacks.js';
import type { Metric } from './metrics.js';

/** The samples of one batch: how many, and their time steps (which fill a `null` time axis). */
export interface BatchRows {
  batch: number;
  steps: number;
}

/** Per-batch results before averaging. */
export interface BatchSums {
  /** Sequences in the batch. */
  samples: number;
  /** The batch's loss times its sequence count (epochs average over sequences, as Keras). */
  loss: number;
  /** The metrics' statistics (see `Metric.statistics`), one after another. */
  metrics: number[];
  /**
   * How many loss samples count (unpadded steps): the batch's loss is their
   * mean, so a share of a batch weighs its gradient by this.
   */
  metricWeight: number;
}

/** Running sums over an epoch's batches. */
export interface Totals {
  samples: number;
  loss: number;
  metrics: number[];
}

export function addBatch(totals: Totals, sums: BatchSums): void {
  totals.samples += sums.samples;
  totals.loss += sums.loss;
  sums.metrics.forEach((m, i) => {
    totals.metrics[i] = (totals.metrics[i] ?? 0) + m;
  });
}

/** The logs so far: loss per sequence, each metric from its summed statistics. */
export function averages(metrics: readonly Metric[], totals: Totals): Logs {
  const logs: Logs = { loss: totals.loss / totals.samples };
  let offset = 0;
  for (const metric of metrics) {
    logs[metric.name] = metric.result(totals.metrics.slice(offset, offset + metric.size));
    offset += metric.size;
  }
  return logs;
}
