/** `fit`: epochs of shuffled batches, validation, callbacks and history. */

import type { CheckpointArgs } from '../io/checkpoint.js';
import { Random } from '../random.js';
import { type Tensor, tensor } from '../tensor.js';
import { addBatch, averages, type BatchSums, type Totals } from './batch.js';
import type { Callback, Logs } from './callbacks.js';
import { samplesOf, stepsOf } from './data.js';
import { argmax } from './metrics.js';
import { defaultVerbosity, ProgressLogger } from './progress.js';
import type { Sequential } from './sequential.js';

export interface FitArgs {
  /** Default 1. */
  epochs?: number;
  /** Default 32. */
  batchSize?: number;
  /** Shuffle the training samples before each epoch; default true. */
  shuffle?: boolean;
  /** Hold out this fraction of the samples, taken from the end (before shuffling), for validation. */
  validationSplit?: number;
  /** Validation data; takes precedence over `validationSplit`. */
  validationData?: [Tensor, Tensor];
  /** The epoch to start counting from (resuming); default 0. */
  initialEpoch?: number;
  callbacks?: Callback | Callback[];
  /** Seeds the shuffling: the same seed and initial weights give bit-identical runs. */
  seed?: number;
  /**
   * Weights of the training samples' losses, `[samples]`, or `[samples,
   * steps]` for a sequence output (Keras' sample_weight; the loss is
   * Σ wᵢ·lossᵢ / count, metrics are unweighted).
   */
  sampleWeight?: Tensor;
  /**
   * Weights of the training samples' losses by class (Keras' class_weight):
   * `{ [classIndex]: weight }`, classes not named weighing 1. A loss
   * sample's class is its target's argmax (one-hot targets), its class index
   * (sparse targets), or its rounded target (one binary output). Multiplies
   * `sampleWeight` where both are given; validation is not weighted.
   */
  classWeight?: Record<number, number>;
  /**
   * Write checkpoints into `path` (Node) every `everyEpochs` epochs; with
   * `resume`, continue from the newest one there: a resumed run ends
   * bit-identical to one never interrupted.
   */
  checkpoint?: CheckpointArgs;
  /** 0 silent, 1 progress bar, 2 one line per epoch; default: 1 on a terminal, else 2. */
  verbose?: 0 | 1 | 2;
  /**
   * Stops training at the next batch boundary: `fit` rejects with the
   * signal's reason, and the weights are those after the last whole batch.
   */
  signal?: AbortSignal;
}

export interface History {
  epoch: number[];
  history: Record<string, number[]>;
}

/** @internal Throws unless `value` is an integer ≥ 1, naming the argument. */
export function positiveInteger(name: string, value: number, op = 'fit'): void {
  if (!Number.isInteger(value) || value < 1)
    throw new Error(`${op}: \`${name}\` must be a positive integer, got ${value}`);
}

export async function train(model: Sequential, x: Tensor, y: Tensor, args: FitArgs): Promise<History> {
  const epochs = args.epochs ?? 1;
  const batchSize = args.batchSize ?? model.defaultBatchSize;
  const initialEpoch = args.initialEpoch ?? 0;
  positiveInteger('epochs', epochs);
  positiveInteger('batchSize', batchSize);
  model.assertCompiled();
  const n = samplesOf(model, x, y, 'fit');
  if (args.sampleWeight) checkSampleWeight(model, args.sampleWeight, n, stepsOf(x));
  if (!args.classWeight) return trainChecked(model, x, y, args, { batchSize, epochs, initialEpoch, n });
  // Class weights become sample weights, here and in a hosting worker alike.
  const weights = classSampleWeights(model, y, n, args.classWeight, args.sampleWeight);
  try {
    const { classWeight: _, ...rest } = args;
    return await trainChecked(
      model,
      x,
      y,
      { ...rest, sampleWeight: weights },
      { batchSize, epochs, initialEpoch, n },
    );
  } finally {
    weights.dispose();
  }
}

/** `fit` once its arguments are checked. */
async function trainChecked(
  model: Sequential,
  x: Tensor,
  y: Tensor,
  args: FitArgs,
  {
    batchSize,
    epochs,
    initialEpoch,
    n,
  }: { batchSize: number; epochs: number; initialEpoch: number; n: number },
): Promise<History> {
  // Training and validation index sets.
  let trainCount = n;
  let validation: { x: Tensor; y: Tensor; indices?: Uint32Array } | undefined;
  if (args.validationData) {
    const [vx, vy] = args.validationData;
    samplesOf(model, vx, vy, 'fit (validationData)');
    validation = { x: vx, y: vy };
  } else if (args.validationSplit !== undefined) {
    const split = args.validationSplit;
    if (!(split > 0 && split < 1))
      throw new Error(`fit: \`validationSplit\` must be in (0, 1), got ${split}`);
    trainCount = Math.floor(n * (1 - split));
    if (trainCount < 1 || trainCount === n) {
      throw new Error(
        `fit: validationSplit ${split} of ${n} samples leaves no training or no validation samples`,
      );
    }
    validation = { x, y, indices: Uint32Array.from({ length: n - trainCount }, (_, i) => trainCount + i) };
  }

  model.checkStatefulBatches(trainCount, batchSize, 'fit');
  if (validation) {
    const count = validation.indices?.length ?? (validation.x.shape[0] as number);
    model.checkStatefulBatches(count, batchSize, 'fit (validation)');
  }

  const batchesPerEpoch = Math.ceil(trainCount / batchSize);
  const callbacks = trainingCallbacks(model, args, epochs, batchesPerEpoch);

  model.stopTraining = false;
  const checkpoint = args.checkpoint;
  const every = checkpoint?.everyEpochs ?? 1;
  if (checkpoint) positiveInteger('checkpoint.everyEpochs', every);
  const host = await model.trainingHost();
  if (host) {
    try {
      return await host.fit(model, x, y, args, { callbacks, batchesPerEpoch });
    } catch (error) {
      if (host.failure) model.stopTrainingHost();
      throw error;
    }
  }

  const random = new Random(args.seed ?? (Math.random() * 2 ** 32) >>> 0);
  const order = new Uint32Array(trainCount);
  let history: History = { epoch: [], history: {} };
  let firstEpoch = initialEpoch;
  if (checkpoint?.resume) {
    const { restoreCheckpoint } = await import('../io/checkpoint.js');
    const restored = await restoreCheckpoint(model, checkpoint.path);
    if (restored) {
      firstEpoch = restored.epoch;
      random.position = restored.shufflePosition;
      history = restored.history;
    }
  }

  await each(callbacks, (cb) => cb.onTrainBegin?.({}));
  for (let epoch = firstEpoch; epoch < epochs && !model.stopTraining; epoch++) {
    await each(callbacks, (cb) => cb.onEpochBegin?.(epoch, {}));
    // Each epoch's order depends only on the generator's position, which a
    // checkpoint keeps.
    order.forEach((_, i) => {
      order[i] = i;
    });
    if (args.shuffle ?? true) random.shuffle(order);
    const totals: Totals = { samples: 0, loss: 0, metrics: [] };
    for (let b = 0; b < batchesPerEpoch; b++) {
      const start = b * batchSize;
      const batch = Math.min(batchSize, trainCount - start);
      await each(callbacks, (cb) => cb.onBatchBegin?.(b, { batch: b, size: batch }));
      args.signal?.throwIfAborted();
      await yieldNow();
      const sums = await model.step(x, y, order, start, batch, true, args.sampleWeight);
      checkLoss(sums, epoch, b, 'fit');
      addBatch(totals, sums);
      const batchLogs: Logs = { batch: b, size: batch, ...averages(model.compiledMetrics, totals) };
      await each(callbacks, (cb) => cb.onBatchEnd?.(b, batchLogs));
    }
    const logs = averages(model.compiledMetrics, totals);
    if (validation) {
      const valLogs = await model.evaluateLogs(validation.x, validation.y, batchSize, validation.indices);
      for (const [key, value] of Object.entries(valLogs)) logs[`val_${key}`] = value;
    }
    await each(callbacks, (cb) => cb.onEpochEnd?.(epoch, logs));
    recordEpoch(history, epoch, logs);
    if (checkpoint && ((epoch + 1) % every === 0 || epoch === epochs - 1 || model.stopTraining)) {
      const { writeCheckpoint } = await import('../io/checkpoint.js');
      await writeCheckpoint(model, checkpoint.path, {
        epoch: epoch + 1,
        shufflePosition: random.position,
        history,
      });
    }
  }
  await each(callbacks, (cb) => cb.onTrainEnd?.({}));
  return history;
}

/**
 * @internal The callbacks of a training run: the progress display that
 * `verbose` asks for (`batchesPerEpoch` undefined when unknown), then the
 * caller's, each given the model.
 */
export function trainingCallbacks(
  model: Sequential,
  args: Pick<FitArgs, 'verbose' | 'callbacks'>,
  epochs: number,
  batchesPerEpoch: number | undefined,
): Callback[] {
  const verbose = args.verbose ?? defaultVerbosity();
  const callbacks: Callback[] = [
    ...(verbose ? [new ProgressLogger(verbose, epochs, batchesPerEpoch)] : []),
    ...(Array.isArray(args.callbacks) ? args.callbacks : args.callbacks ? [args.callbacks] : []),
  ];
  for (const cb of callbacks) cb.setModel?.(model);
  return callbacks;
}

/** @internal Stops training on a NaN or infinite batch loss, naming where. */
export function checkLoss(sums: BatchSums, epoch: number, batch: number, op: string): void {
  if (!Number.isFinite(sums.loss)) {
    throw new Error(
      `${op}: the loss became ${sums.loss / sums.samples} at epoch ${epoch + 1}, batch ${batch + 1}; training stopped`,
    );
  }
}

/** @internal Appends an epoch's logs to the history. */
export function recordEpoch(history: History, epoch: number, logs: Logs): void {
  history.epoch.push(epoch);
  for (const [key, value] of Object.entries(logs)) {
    history.history[key] = [...(history.history[key] ?? []), value];
  }
}

/**
 * @internal One weight per loss sample (`[samples]`, or `[samples, steps]`
 * for a sequence output) from `classWeight`, times `sampleWeight` when given.
 */
export function classSampleWeights(
  model: Sequential,
  y: Tensor,
  n: number,
  classWeight: Record<number, number>,
  sampleWeight: Tensor | undefined,
  op = 'fit',
): Tensor {
  const table = new Map<number, number>();
  for (const [key, weight] of Object.entries(classWeight)) {
    const index = Number(key);
    if (!Number.isInteger(index) || index < 0)
      throw new Error(`${op}: classWeight keys must be class indices (integers ≥ 0), got '${key}'`);
    if (!(typeof weight === 'number' && weight >= 0 && weight < Number.POSITIVE_INFINITY))
      throw new Error(`${op}: classWeight[${key}] must be a finite weight ≥ 0, got ${weight}`);
    table.set(index, weight);
  }
  const sparse = model.objective.loss === 'sparseCategoricalCrossentropy';
  const width = sparse ? 1 : (y.shape[y.rank - 1] as number);
  const targets = y.view();
  const count = targets.length / width;
  const perRow = count / n;
  const weights = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    const label = width > 1 ? argmax(targets, i * width, width) : Math.round(targets[i] as number);
    weights[i] = table.get(label) ?? 1;
  }
  if (sampleWeight) {
    const given = sampleWeight.view();
    const repeat = given.length === n ? perRow : 1;
    for (let i = 0; i < count; i++)
      weights[i] = (weights[i] as number) * (given[Math.floor(i / repeat)] as number);
  }
  return tensor(weights, perRow === 1 ? [n] : [n, perRow], { kernel: model.kernel });
}

/** @internal Throws unless `weights` fits `n` samples of `inputSteps` steps, each weight finite and ≥ 0. */
export function checkSampleWeight(
  model: Sequential,
  weights: Tensor,
  n: number,
  inputSteps: number,
  op = 'fit',
): void {
  const out = model.outputShapeFor(inputSteps);
  const steps = out.length > 1 ? (out[0] as number) : undefined;
  const shapeOk =
    weights.shape[0] === n &&
    (weights.rank === 1 || (weights.rank === 2 && steps !== undefined && weights.shape[1] === steps));
  if (!shapeOk) {
    const allowed = steps === undefined ? `[${n}]` : `[${n}] or [${n}, ${steps}]`;
    throw new Error(`${op}: sampleWeight must have shape ${allowed}, got [${weights.shape.join(', ')}]`);
  }
  const values = weights.view();
  for (let i = 0; i < values.length; i++) {
    const w = values[i] as number;
    if (!(w >= 0 && w < Number.POSITIVE_INFINITY)) {
      throw new Error(`${op}: sampleWeight has a negative or non-finite weight at index ${i}`);
    }
  }
}

/**
 * @internal Gives the event loop a turn when this thread has computed for a while: a
 * page training on its own thread (no workers) still draws and answers
 * between batches.
 */
let lastYield = 0;
const YIELD_EVERY_MS = 40;
export async function yieldNow(): Promise<void> {
  const now = performance.now();
  if (now - lastYield < YIELD_EVERY_MS) return;
  await new Promise((resolve) => setTimeout(resolve, 0));
  lastYield = performance.now();
}

/** @internal Calls each callback in turn, awaiting each. */
export async function each(
  callbacks: readonly Callback[],
  call: (cb: Callback) => void | Promise<void>,
): Promise<void> {
  for (const cb of callbacks) await call(cb);
}
