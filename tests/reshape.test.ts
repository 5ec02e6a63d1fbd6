/**
 * RepeatVector and Flatten: a sequence autoencoder (GRU → RepeatVector →
 * GRU → Dense at each step) and a GRU's every step into one Dense layer,
 * against TensorFlow.js on identical weights (predictions, three SGD steps
 * whose updates need the gradients through both layers, files both ways),
 * and what they refuse.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as gw from '../ts/index.js';
import { flatWeights, maxAbsDiff } from './support/compare.js';
import { randomUniform } from './support/random.js';
import { loadIntoTfjs, saveTfjsModel } from './support/tfjs-files.js';

const [N, T, I, H] = [5, 6, 3, 4];
const dir = mkdtempSync(join(tmpdir(), 'gru-wasm-reshape-'));
const x = randomUniform(7, N * T * I, -2, 2);

beforeAll(async () => {
  await tf.setBackend('cpu');
  await gw.ready();
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** The same model in both libraries, TensorFlow.js' given ours' initial weights. */
function twins(
  build: (layers: typeof gw.layers) => gw.layers.Layer[],
  buildTheirs: (layers: typeof tf.layers) => tf.layers.Layer[],
  loss: 'meanSquaredError' | 'binaryCrossentropy',
) {
  gw.setRandomSeed(8);
  const ours = gw.sequential();
  for (const layer of build(gw.layers)) ours.add(layer);
  ours.compile({ optimizer: gw.optimizers.sgd({ learningRate: 0.3 }), loss });
  const theirs = tf.sequential();
  for (const layer of buildTheirs(tf.layers)) theirs.add(layer);
  theirs.compile({ optimizer: tf.train.sgd(0.3), loss });
  const initial = ours.getWeights();
  theirs.setWeights(initial.map((w) => tf.tensor(w.dataSync(), [...w.shape])));
  for (const w of initial) w.dispose();
  return { ours, theirs };
}

/** Predictions, three training steps and both directions of files agree with TensorFlow.js. */
async function expectAsTfjs(
  name: string,
  { ours, theirs }: ReturnType<typeof twins>,
  y: Float32Array,
  yShape: number[],
  classNames: string[],
) {
  const xs = gw.tensor(x, [N, T, I]);
  const ys = gw.tensor(y, yShape);
  const [xt, yt] = [tf.tensor3d(x, [N, T, I]), tf.tensor(y, yShape)];
  const predicted = await ours.predict(xs);
  expect(predicted.shape).toEqual(yShape);
  expect(maxAbsDiff(predicted.dataSync(), (theirs.predict(xt) as tf.Tensor).dataSync())).toBeLessThan(1e-6);
  predicted.dispose();
  for (let step = 0; step < 3; step++) {
    const loss = await ours.trainOnBatch(xs, ys);
    const theirLoss = (await theirs.trainOnBatch(xt, yt)) as number;
    expect(Math.abs(loss - theirLoss), `${name} step ${step}`).toBeLessThan(1e-6);
  }
  const theirWeights = theirs.getWeights().flatMap((w) => Array.from(w.dataSync()));
  expect(maxAbsDiff(flatWeights(ours), theirWeights)).toBeLessThan(1e-5);

  const after = await ours.predict(xs);
  await ours.save(join(dir, name));
  const { model: loadedByThem, json } = await loadIntoTfjs(join(dir, name));
  expect(json.modelTopology.config.layers.map((l) => l.class_name)).toEqual(classNames);
  expect(maxAbsDiff((loadedByThem.predict(xt) as tf.Tensor).dataSync(), after.dataSync())).toBeLessThan(1e-6);
  await saveTfjsModel(theirs, join(dir, `${name}-theirs`));
  const loaded = await gw.loadModel(join(dir, `${name}-theirs`));
  const again = await loaded.predict(xs);
  expect(maxAbsDiff(again.dataSync(), after.dataSync())).toBeLessThan(1e-5);
  for (const t of [xs, ys, after, again]) t.dispose();
  ours.dispose();
  loaded.dispose();
}

describe('repeatVector', () => {
  it('makes a sequence autoencoder that trains as in TensorFlow.js', async () => {
    const models = twins(
      (layers) => [
        layers.gru({ units: H, inputShape: [T, I] }),
        layers.repeatVector({ n: T }),
        layers.gru({ units: H, returnSequences: true }),
        layers.dense({ units: I }),
      ],
      (layers) => [
        layers.gru({ units: H, inputShape: [T, I], recurrentActivation: 'sigmoid' }),
        layers.repeatVector({ n: T }),
        layers.gru({ units: H, returnSequences: true, recurrentActivation: 'sigmoid' }),
        layers.dense({ units: I }),
      ],
      'meanSquaredError',
    );
    expect(models.ours.outputShape).toEqual([T, I]);
    // The autoencoder's target is its input.
    await expectAsTfjs('autoencoder', models, x, [N, T, I], ['GRU', 'RepeatVector', 'GRU', 'Dense']);
  });

  it('repeats each vector, and sums the steps’ gradients', () => {
    const layer = gw.layers.repeatVector({ n: 3 });
    const out = layer.apply(gw.tensor([1, 2, 3, 4], [2, 2])) as gw.Tensor;
    expect(out.shape).toEqual([2, 3, 2]);
    expect(Array.from(out.dataSync())).toEqual([1, 2, 1, 2, 1, 2, 3, 4, 3, 4, 3, 4]);
    out.dispose();
    layer.dispose();
  });
});

describe('flatten', () => {
  it('feeds every step of a GRU to one Dense layer, as in TensorFlow.js', async () => {
    const models = twins(
      (layers) => [
        layers.gru({ units: H, returnSequences: true, inputShape: [T, I] }),
        layers.flatten(),
        layers.dense({ units: 1, activation: 'sigmoid' }),
      ],
      (layers) => [
        layers.gru({ units: H, returnSequences: true, inputShape: [T, I], recurrentActivation: 'sigmoid' }),
        layers.flatten(),
        layers.dense({ units: 1, activation: 'sigmoid' }),
      ],
      'binaryCrossentropy',
    );
    expect(models.ours.outputShape).toEqual([1]);
    const y = Float32Array.from({ length: N }, (_, n) => n % 2);
    await expectAsTfjs('flattened', models, y, [N, 1], ['GRU', 'Flatten', 'Dense']);
  });
});

describe('what they refuse', () => {
  it('names the layer and the shape', async () => {
    expect(() => gw.layers.repeatVector({ n: 0 })).toThrow('n must be a positive integer, got 0');
    const sequence = gw.sequential();
    sequence.add(gw.layers.gru({ units: H, returnSequences: true, inputShape: [T, I] }));
    expect(() => sequence.add(gw.layers.repeatVector({ n: 2, name: 'rv' }))).toThrow(
      'repeat_vector rv: expects samples of shape [features], got [6, 4]',
    );
    const anyLength = gw.sequential();
    anyLength.add(gw.layers.gru({ units: H, returnSequences: true, inputShape: [null, I] }));
    expect(() => anyLength.add(gw.layers.flatten({ name: 'f' }))).toThrow(
      'flatten f: needs samples of a fixed shape (sequences of a known number of steps), got [null, 4]',
    );
    const masked = gw.sequential();
    masked.add(gw.layers.masking({ inputShape: [T, I] }));
    masked.add(gw.layers.gru({ units: H, returnSequences: true }));
    masked.add(gw.layers.flatten({ name: 'g' }));
    const xs = gw.tensor(x, [N, T, I]);
    await expect(masked.predict(xs)).rejects.toThrow('flatten g: its input has masked (padded) steps');
    for (const m of [sequence, anyLength, masked]) m.dispose();
    xs.dispose();
  });
});
