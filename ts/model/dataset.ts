/**
 * `fitDataset` and `evaluateDataset`: training and evaluation on batches
 * that arrive one at a time (read from disk, a network, a generator), for
 * data too large to hold as one tensor; TensorFlow.js' methods of the same
 * names, over JavaScript's iterables.
 */
import { Tensor } from '../tensor.js';
import { addBatch, averages, type Totals } from './batch.js';
import type { Logs } from './callbacks.js';
import { samplesOf, stepsOf } from './data.js';
import type { Sequential } from './sequential.js';
import {
  checkLoss,
  checkSampleWeight,
  classSampleWeights,
  each,
  type FitArgs,
  type History,
  positiveInteger,
  recordEpoch,
  trainingCallbacks,
  yieldNow,
} from './training.js';

/**
 * One batch: inputs `[batch, steps, features]`, targets as `fit` takes them
 * and, optionally, the weights of its samples' losses. Its tensors are
 * disposed once the batch has been used (as TensorFlow.js' `fitDataset`
 * disposes a dataset's tensors): yield new ones for every batch.
 */
export interface DatasetBatch {
  xs: Tensor;
  ys: Tensor;
  sampleWeight?: Tensor;
}

type Batches = Iterable<DatasetBatch> | AsyncIterable<DatasetBatch>;

/**
 * Batches to train or evaluate on: an iterable or async iterable of them
 * (an array, a generator), or a function returning one, called at each pass
 * over the data. A generator object runs only once: pass its function to
 * train for several epochs, or `batchesPerEpoch` to take the epochs from one
 * stream.
 */
export type Dataset = Batches | (() => Batches);

export interface FitDatasetArgs
  extends Pick<FitArgs, 'epochs' | 'initialEpoch' | 'callbacks' | 'verbose' | 'signal'> {
  /**
   * Batches per epoch, taken from one pass over the dataset that carries on
   * from epoch to epoch; without it, each epoch is one whole pass.
   */
  batchesPerEpoch?: number;
  /** Validation after each epoch: tensors (in batches of `validationBatchSize`) or a dataset. */
  validationData?: [Tensor, Tensor] | Dataset;
  /** Default: the model's default batch size (32). */
  validationBatchSize?: number;
  /** With a validation dataset, how many of its batches to use; default all. */
  validationBatches?: number;
  /** As `fit`'s (Keras' class_weight), applied to each batch. */
  classWeight?: Record<number, number>;
}

/** One pass over a dataset, batch by batch; `close` ends it early. */
class Pass {
  private readonly iterator: Iterator<unknown> | AsyncIterator<unknown>;

  constructor(dataset: Dataset, op: string) {
    const source: unknown = typeof dataset === 'function' ? dataset() : dataset;
    if (isAsyncIterable(source)) this.iterator = source[Symbol.asyncIterator]();
    else if (isIterable(source)) this.iterator = source[Symbol.iterator]();
    else {
      throw new Error(
        `${op}: the dataset must be an iterable or async iterable of { xs, ys } batches, or a function returning one`,
      );
    }
  }

  /** The next batch, or `undefined` at the end. */
  async next(op: string, index: number): Promise<DatasetBatch | undefined> {
    const result = await this.iterator.next();
    if (result.done) return undefined;
    const batch: unknown = result.value;
    if (!isBatch(batch)) {
      throw new Error(`${op}: batch ${index + 1} of the dataset is not an object with tensors xs and ys`);
    }
    return batch;
  }

  /** Lets a generator run its `finally` blocks. */
  async close(): Promise<void> {
    await this.iterator.return?.();
  }
}

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return typeof value === 'object' && value !== null && Symbol.asyncIterator in value;
}

function isIterable(value: unknown): value is Iterable<unknown> {
  return typeof value === 'object' && value !== null && Symbol.iterator in value;
}

function isTensorPair(value: unknown): value is [Tensor, Tensor] {
  return Array.isArray(value) && value.length === 2 && value.every((t) => t instanceof Tensor);
}

function isBatch(value: unknown): value is DatasetBatch {
  if (typeof value !== 'object' || value === null) return false;
  const { xs, ys } = value as Partial<DatasetBatch>;
  return typeof xs === 'object' && xs !== null && typeof ys === 'object' && ys !== null;
}

function disposeBatch(batch: DatasetBatch): void {
  for (const t of [batch.xs, batch.ys, batch.sampleWeight]) if (t && !t.isDisposed) t.dispose();
}

/**
 * Runs one batch (training it or not), after checking it as `fit` checks
 * its data; disposes the batch's tensors whatever happens.
 */
async function runDatasetBatch(
  model: Sequential,
  batch: DatasetBatch,
  train: boolean,
  classWeight: Record<number, number> | undefined,
  op: string,
) {
  let weights: Tensor | undefined;
  try {
    const { xs, ys, sampleWeight } = batch;
    const n = samplesOf(model, xs, ys, op);
    model.checkStatefulBatches(n, n, op);
    if (sampleWeight) checkSampleWeight(model, sampleWeight, n, stepsOf(xs), op);
    weights = classWeight ? classSampleWeights(model, ys, n, classWeight, sampleWeight, op) : sampleWeight;
    const order = Uint32Array.from({ length: n }, (_, i) => i);
    return await model.step(xs, ys, order, 0, n, train, weights);
  } finally {
    if (weights && weights !== batch.sampleWeight) weights.dispose();
    disposeBatch(batch);
  }
}

/** Loss and metrics over (up to `batches` of) one pass over a dataset, as logs. */
export async function evaluateDatasetLogs(
  model: Sequential,
  dataset: Dataset,
  batches: number | undefined,
  op: string,
): Promise<Logs> {
  model.assertCompiled();
  if (batches !== undefined) positiveInteger('batches', batches, op);
  const pass = new Pass(dataset, op);
  const totals: Totals = { samples: 0, loss: 0, metrics: [] };
  try {
    for (let b = 0; batches === undefined || b < batches; b++) {
      const batch = await pass.next(op, b);
      if (!batch) break;
      addBatch(totals, await runDatasetBatch(model, batch, false, undefined, op));
    }
  } finally {
    await pass.close();
  }
  if (totals.samples === 0) throw new Error(`${op}: the dataset yielded no batches`);
  return averages(model.compiledMetrics, totals);
}

/** Trains on a dataset's batches; see `FitDatasetArgs`. */
export async function fitDataset(
  model: Sequential,
  dataset: Dataset,
  args: FitDatasetArgs,
): Promise<History> {
  const op = 'fitDataset';
  const epochs = args.epochs ?? 1;
  const initialEpoch = args.initialEpoch ?? 0;
  positiveInteger('epochs', epochs, op);
  const perEpoch = args.batchesPerEpoch;
  if (perEpoch !== undefined) positiveInteger('batchesPerEpoch', perEpoch, op);
  if (args.validationBatchSize !== undefined)
    positiveInteger('validationBatchSize', args.validationBatchSize, op);
  model.assertCompiled();
  const validation = args.validationData;
  // Tensors [x, y], or a dataset (which may itself be an array of batches).
  const tensors = isTensorPair(validation) ? validation : undefined;
  const validationSet = isTensorPair(validation) ? undefined : validation;
  if (tensors) samplesOf(model, tensors[0], tensors[1], `${op} (validationData)`);

  const callbacks = trainingCallbacks(model, args, epochs, perEpoch);
  model.stopTraining = false;
  const history: History = { epoch: [], history: {} };
  // With batchesPerEpoch the epochs share one pass; without, each opens its own.
  let pass = perEpoch === undefined ? undefined : new Pass(dataset, op);
  try {
    await each(callbacks, (cb) => cb.onTrainBegin?.({}));
    for (let epoch = initialEpoch; epoch < epochs && !model.stopTraining; epoch++) {
      await each(callbacks, (cb) => cb.onEpochBegin?.(epoch, {}));
      if (perEpoch === undefined) pass = new Pass(dataset, op);
      const current = pass as Pass;
      const totals: Totals = { samples: 0, loss: 0, metrics: [] };
      let b = 0;
      for (; perEpoch === undefined || b < perEpoch; b++) {
        args.signal?.throwIfAborted();
        await yieldNow();
        const batch = await current.next(op, b);
        if (!batch) break;
        const size = batch.xs.shape[0] as number;
        await each(callbacks, (cb) => cb.onBatchBegin?.(b, { batch: b, size }));
        const sums = await runDatasetBatch(model, batch, true, args.classWeight, op);
        checkLoss(sums, epoch, b, op);
        addBatch(totals, sums);
        const batchLogs: Logs = { batch: b, size, ...averages(model.compiledMetrics, totals) };
        await each(callbacks, (cb) => cb.onBatchEnd?.(b, batchLogs));
      }
      if (perEpoch !== undefined && b < perEpoch) {
        throw new Error(
          `${op}: the dataset ended after ${b} of epoch ${epoch + 1}'s ${perEpoch} batches (batchesPerEpoch): it must hold epochs × batchesPerEpoch batches`,
        );
      }
      if (b === 0) {
        throw new Error(
          `${op}: the dataset yielded no batches in epoch ${epoch + 1} (a generator object runs once: pass the function that makes it, or batchesPerEpoch)`,
        );
      }
      if (perEpoch === undefined) await current.close();
      const logs = averages(model.compiledMetrics, totals);
      let valLogs: Logs = {};
      if (tensors) {
        const batchSize = args.validationBatchSize ?? model.defaultBatchSize;
        valLogs = await model.evaluateLogs(tensors[0], tensors[1], batchSize);
      } else if (validationSet) {
        const what = `${op} (validationData)`;
        valLogs = await evaluateDatasetLogs(model, validationSet, args.validationBatches, what);
      }
      for (const [key, value] of Object.entries(valLogs)) logs[`val_${key}`] = value;
      await each(callbacks, (cb) => cb.onEpochEnd?.(epoch, logs));
      recordEpoch(history, epoch, logs);
    }
    await each(callbacks, (cb) => cb.onTrainEnd?.({}));
  } finally {
    await pass?.close();
  }
  return history;
}
