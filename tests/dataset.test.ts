/**
 * `fitDataset` and `evaluateDataset`: batches from generators (sync and
 * async, one pass per epoch or one stream cut by `batchesPerEpoch`) train
 * as `fit` trains on the same batches, bit for bit, and as TensorFlow.js'
 * `fitDataset`; batches are disposed once used; bad datasets are named.
 */
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as gw from '../ts/index.js';
import { maxAbsDiff } from './support/compare.js';
import { randomUniform } from './support/random.js';
import { within } from './support/within.js';

const [N, T, I, H] = [20, 4, 3, 6];
const BATCH = 8;
const xValues = randomUniform(1, N * T * I);
const yValues = Float32Array.from({ length: N }, (_, n) => ((xValues[n * T * I] as number) > 0 ? 1 : 0));
const models: gw.Sequential[] = [];

beforeAll(async () => {
  await tf.setBackend('cpu');
  await gw.ready();
});

afterAll(async () => {
  for (const model of models) model.dispose();
  // The workers' replicas are freed as their workers stop, in the background.
  const deadline = performance.now() + 10_000;
  while (gw.kernel().live().tensors > 0 && performance.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  expect(gw.kernel().live().tensors).toBe(0);
});

function build(workers = 0): gw.Sequential {
  gw.setRandomSeed(11);
  const model = gw.sequential();
  model.add(gw.layers.gru({ units: H, inputShape: [T, I] }));
  model.add(gw.layers.dense({ units: 1, activation: 'sigmoid' }));
  model.compile({
    optimizer: gw.optimizers.adam({ learningRate: 0.05 }),
    loss: 'binaryCrossentropy',
    metrics: ['accuracy'],
    workers,
  });
  models.push(model);
  return model;
}

/** A model's weights, as copies (the model keeps its tensors). */
const weightsOf = (model: gw.Sequential): Float32Array[] => model.snapshotWeights();
const flatWeights = (model: gw.Sequential): number[] => weightsOf(model).flatMap((w) => Array.from(w));

/** Rows `[start, end)` of the data as a batch of new tensors. */
function rows(start: number, end: number): gw.DatasetBatch {
  return {
    xs: gw.tensor(xValues.slice(start * T * I, end * T * I), [end - start, T, I]),
    ys: gw.tensor(yValues.slice(start, end), [end - start, 1]),
  };
}

/** The data in batches of BATCH, in order (the last one short). */
function* batches(): Generator<gw.DatasetBatch> {
  for (let start = 0; start < N; start += BATCH) yield rows(start, Math.min(N, start + BATCH));
}

/** The same batches without end, asynchronously. */
async function* endless(): AsyncGenerator<gw.DatasetBatch> {
  for (;;) {
    for (const batch of batches()) {
      await Promise.resolve();
      yield batch;
    }
  }
}

function whole() {
  return { x: gw.tensor(xValues, [N, T, I]), y: gw.tensor(yValues, [N, 1]) };
}

describe('fitDataset', () => {
  it('trains as fit does on the same batches, bit for bit, with validation', async () => {
    const { x, y } = whole();
    const validation = rows(0, 6);
    const viaFit = build();
    const expected = await viaFit.fit(x, y, {
      epochs: 3,
      batchSize: BATCH,
      shuffle: false,
      validationData: [validation.xs, validation.ys],
      verbose: 0,
    });
    const viaDataset = build();
    const epochsSeen: number[] = [];
    const got = await viaDataset.fitDataset(batches, {
      epochs: 3,
      validationData: [validation.xs, validation.ys],
      callbacks: { onEpochEnd: (epoch) => void epochsSeen.push(epoch) },
      verbose: 0,
    });
    expect(weightsOf(viaDataset)).toEqual(weightsOf(viaFit));
    expect(got.history).toEqual(expected.history);
    expect(epochsSeen).toEqual([0, 1, 2]);
    // A validation dataset gives what the validation tensors give.
    const again = build();
    const withDataset = await again.fitDataset(batches, {
      epochs: 3,
      validationData: () => [rows(0, 6)],
      verbose: 0,
    });
    expect(withDataset.history).toEqual(expected.history);
    // An array of two batches is a dataset, not the tensors [x, y].
    const fromArray = await build().fitDataset(batches, {
      validationData: [rows(0, 3), rows(3, 6)],
      verbose: 0,
    });
    expect(fromArray.history.val_loss?.[0]).toBeCloseTo(expected.history.val_loss?.[0] as number, 6);
    for (const t of [x, y, validation.xs, validation.ys]) t.dispose();
  });

  it('takes batchesPerEpoch from one async stream across epochs', async () => {
    const { x, y } = whole();
    const viaFit = build();
    const expected = await viaFit.fit(x, y, { epochs: 2, batchSize: BATCH, shuffle: false, verbose: 0 });
    const viaStream = build();
    const got = await viaStream.fitDataset(endless(), { epochs: 2, batchesPerEpoch: 3, verbose: 0 });
    expect(weightsOf(viaStream)).toEqual(weightsOf(viaFit));
    expect(got.history).toEqual(expected.history);
    x.dispose();
    y.dispose();
  });

  it('trains as TensorFlow.js’ fitDataset does', async () => {
    gw.setRandomSeed(12);
    const ours = gw.sequential();
    ours.add(gw.layers.gru({ units: H, inputShape: [T, I] }));
    ours.add(gw.layers.dense({ units: 1, activation: 'sigmoid' }));
    ours.compile({ optimizer: gw.optimizers.sgd({ learningRate: 0.5 }), loss: 'binaryCrossentropy' });
    models.push(ours);
    const theirs = tf.sequential();
    theirs.add(tf.layers.gru({ units: H, inputShape: [T, I], recurrentActivation: 'sigmoid' }));
    theirs.add(tf.layers.dense({ units: 1, activation: 'sigmoid' }));
    theirs.compile({ optimizer: tf.train.sgd(0.5), loss: 'binaryCrossentropy' });
    const initial = ours.getWeights();
    theirs.setWeights(initial.map((w) => tf.tensor(w.dataSync(), [...w.shape])));
    for (const w of initial) w.dispose();

    const history = await ours.fitDataset(batches, { epochs: 3, verbose: 0 });
    const theirData = tf.data.generator(function* () {
      for (let start = 0; start < N; start += BATCH) {
        const end = Math.min(N, start + BATCH);
        yield {
          xs: tf.tensor3d(xValues.slice(start * T * I, end * T * I), [end - start, T, I]),
          ys: tf.tensor2d(yValues.slice(start, end), [end - start, 1]),
        };
      }
    });
    const theirHistory = await theirs.fitDataset(theirData, { epochs: 3, verbose: 0 });
    const theirWeights = theirs.getWeights().flatMap((w) => Array.from(w.dataSync()));
    expect(maxAbsDiff(flatWeights(ours), theirWeights)).toBeLessThan(1e-5);
    history.history.loss?.forEach((loss, epoch) => {
      expect(loss).toBeCloseTo(theirHistory.history.loss?.[epoch] as number, 5);
    });
  });

  it('trains on data-parallel workers as on this thread', async () => {
    const here = build();
    await here.fitDataset(batches, { epochs: 2, verbose: 0 });
    const there = build(2);
    await within(there.fitDataset(batches, { epochs: 2, verbose: 0 }), 'fitDataset on 2 workers');
    expect(maxAbsDiff(flatWeights(there), flatWeights(here))).toBeLessThan(1e-5);
  });

  it('disposes each batch once used, and weighs batches by their sampleWeight and classWeight', async () => {
    const model = build();
    await model.fitDataset(batches, { verbose: 0 });
    const live = gw.kernel().live().tensors;
    const yielded: gw.DatasetBatch[] = [];
    await model.fitDataset(
      function* () {
        for (const batch of batches()) {
          yielded.push(batch);
          yield batch;
        }
      },
      { epochs: 2, verbose: 0 },
    );
    expect(yielded).toHaveLength(6);
    expect(yielded.every(({ xs, ys }) => xs.isDisposed && ys.isDisposed)).toBe(true);
    expect(gw.kernel().live().tensors).toBe(live);

    // A class weight equals the sample weights it stands for.
    const weighted = (batch: gw.DatasetBatch): gw.DatasetBatch => {
      const labels = batch.ys.view();
      return {
        ...batch,
        sampleWeight: gw.tensor(
          labels.map((v) => (v === 1 ? 3 : 0.5)),
          [labels.length],
        ),
      };
    };
    const bySample = build();
    await bySample.fitDataset(() => Array.from(batches(), weighted), { epochs: 2, verbose: 0 });
    const byClass = build();
    await byClass.fitDataset(batches, { epochs: 2, classWeight: { 0: 0.5, 1: 3 }, verbose: 0 });
    expect(weightsOf(byClass)).toEqual(weightsOf(bySample));
  });

  it('names what is wrong with a dataset, and closes it', async () => {
    const model = build();
    const once = batches();
    await expect(model.fitDataset(once, { epochs: 2, verbose: 0 })).rejects.toThrow(
      'fitDataset: the dataset yielded no batches in epoch 2 (a generator object runs once',
    );
    await expect(model.fitDataset(batches, { epochs: 1, batchesPerEpoch: 4, verbose: 0 })).rejects.toThrow(
      "fitDataset: the dataset ended after 3 of epoch 1's 4 batches (batchesPerEpoch)",
    );
    await expect(model.fitDataset(() => [{ xs: 1 }] as never, { verbose: 0 })).rejects.toThrow(
      'fitDataset: batch 1 of the dataset is not an object with tensors xs and ys',
    );
    await expect(model.fitDataset(42 as never, { verbose: 0 })).rejects.toThrow(
      'fitDataset: the dataset must be an iterable or async iterable',
    );
    let closed = false;
    const wrongShape = function* () {
      try {
        yield rows(0, 4);
        yield { xs: gw.tensor(new Float32Array(2 * T * 2), [2, T, 2]), ys: gw.tensor([1, 0], [2, 1]) };
        yield rows(4, 8);
      } finally {
        closed = true;
      }
    };
    await expect(model.fitDataset(wrongShape, { verbose: 0 })).rejects.toThrow(
      'fitDataset: x must have shape [samples, 4, 3], got [2, 4, 2]',
    );
    expect(closed).toBe(true);
    await expect(model.fitDataset(batches, { epochs: 0 })).rejects.toThrow(
      'fitDataset: `epochs` must be a positive integer, got 0',
    );
    await expect(model.evaluateDataset([])).rejects.toThrow(
      'evaluateDataset: the dataset yielded no batches',
    );
  });
});

describe('evaluateDataset', () => {
  it('gives what evaluate gives, over all batches or the first few', async () => {
    const model = build();
    const { x, y } = whole();
    expect(await model.evaluateDataset(batches)).toEqual(await model.evaluate(x, y, { batchSize: BATCH }));
    const first = rows(0, 2 * BATCH);
    expect(await model.evaluateDataset(batches(), { batches: 2 })).toEqual(
      await model.evaluate(first.xs, first.ys, { batchSize: BATCH }),
    );
    for (const t of [x, y, first.xs, first.ys]) t.dispose();
  });
});
