/** Per-batch sums of loss and metrics, and their averages over an epoch, as Keras reports them. */
import type { Logs } from './callbacks.js';

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
  /** Σ metric over the loss samples that count (unpadded steps). */
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
  metricWeight: number;
  metrics: number[];
}

export function addBatch(totals: Totals, sums: BatchSums): void {
  totals.samples += sums.samples;
  totals.loss += sums.loss;
  totals.metricWeight += sums.metricWeight;
  sums.metrics.forEach((m, i) => {
    totals.metrics[i] = (totals.metrics[i] ?? 0) + m;
  });
}

/** The logs of an epoch: loss per sequence, metrics per counted loss sample. */
export function averages(names: readonly string[], totals: Totals): Logs {
  const logs: Logs = { loss: totals.loss / totals.samples };
  names.slice(1).forEach((name, i) => {
    logs[name] = totals.metricWeight > 0 ? (totals.metrics[i] ?? 0) / totals.metricWeight : 0;
  });
  return logs;
}
