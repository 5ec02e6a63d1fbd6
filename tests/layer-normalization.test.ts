/**
 * LayerNormalization between GRUs, against TensorFlow.js on identical
 * weights: predictions, three SGD steps (gamma, beta and the gradient
 * through the layer into the GRU before it), without scale or center, with
 * masked steps passing through, files both ways; and what it refuses.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as gw from '../ts/index.js';
import { maxAbsDiff } from './support/compare.js';
import { randomUniform } from './support/random.js';
import { loadIntoTfjs, saveTfjsModel } from './support/tfjs-files.js';

const [N, T, I, H] = [6, 5, 3, 7];
const dir = mkdtempSync(join(tmpdir(), 'gru-wasm-layer-norm-'));

beforeAll(async () => {
  await tf.setBackend('cpu');
  await gw.ready();
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

interface Options {
  center?: boolean;
  scale?: boolean;
  masked?: boolean;
}

/**
 * Masking? → GRU (sequences) → LayerNormalization → GRU → LayerNormalization
 * → Dense, in both libraries. TensorFlow.js' layer cannot train without its
 * scale or centre (its gradient reads the missing tensor): its twin keeps
 * both, at gamma 1 and beta 0, which computes the same until they move.
 */
function twins({ center = true, scale = true, masked = false }: Options) {
  gw.setRandomSeed(21);
  const ours = gw.sequential();
  const theirs = tf.sequential();
  if (masked) {
    ours.add(gw.layers.masking({ inputShape: [T, I] }));
    theirs.add(tf.layers.masking({ inputShape: [T, I] }));
  }
  const shape = masked ? {} : { inputShape: [T, I] };
  ours.add(gw.layers.gru({ units: H, returnSequences: true, ...shape }));
  ours.add(gw.layers.layerNormalization({ center, scale }));
  ours.add(gw.layers.gru({ units: H }));
  ours.add(gw.layers.layerNormalization({ center, scale, epsilon: 0.01 }));
  ours.add(gw.layers.dense({ units: 1, activation: 'sigmoid' }));
  ours.compile({ optimizer: gw.optimizers.sgd({ learningRate: 0.5 }), loss: 'binaryCrossentropy' });
  theirs.add(tf.layers.gru({ units: H, returnSequences: true, recurrentActivation: 'sigmoid', ...shape }));
  theirs.add(tf.layers.layerNormalization({}));
  theirs.add(tf.layers.gru({ units: H, recurrentActivation: 'sigmoid' }));
  theirs.add(tf.layers.layerNormalization({ epsilon: 0.01 }));
  theirs.add(tf.layers.dense({ units: 1, activation: 'sigmoid' }));
  theirs.compile({ optimizer: tf.train.sgd(0.5), loss: 'binaryCrossentropy' });
  // Non-trivial gamma and beta, so that both shape the gradients.
  ours.layers.forEach((layer, i) => {
    if (!(layer instanceof gw.layers.LayerNormalization)) return;
    const current = layer.getWeights();
    layer.setWeights(current.map((w, part) => randomUniform(30 + 2 * i + part, w.size, 0.5, 1.5)));
    for (const w of current) w.dispose();
  });
  ours.layers.forEach((layer, i) => {
    const values = layer.getWeights();
    const full =
      layer instanceof gw.layers.LayerNormalization
        ? [
            scale ? (values.shift() as gw.Tensor) : gw.tensor(new Float32Array(H).fill(1), [H]),
            center ? (values.shift() as gw.Tensor) : gw.tensor(new Float32Array(H), [H]),
          ]
        : values;
    theirs.layers[i]?.setWeights(full.map((w) => tf.tensor(w.dataSync(), [...w.shape])));
    for (const w of full) w.dispose();
  });
  return { ours, theirs };
}

/** Each layer's weights against its twin's, the twin's extra gamma or beta left out. */
function expectSameWeights(
  ours: gw.Sequential,
  theirs: tf.Sequential,
  { center = true, scale = true }: Options,
) {
  ours.layers.forEach((layer, i) => {
    const mine = layer.getWeights();
    let twin = theirs.layers[i]?.getWeights() ?? [];
    if (layer instanceof gw.layers.LayerNormalization) twin = twin.filter((_, part) => [scale, center][part]);
    expect(mine.length).toBe(twin.length);
    mine.forEach((w, j) => {
      expect(
        maxAbsDiff(w.dataSync(), (twin[j] as tf.Tensor).dataSync()),
        `${layer.name} weight ${j}`,
      ).toBeLessThan(1e-5);
      w.dispose();
    });
  });
}

function data(masked: boolean) {
  const x = randomUniform(22, N * T * I, -2, 2);
  // Padded tails of different lengths (all-zero steps).
  if (masked) for (let n = 0; n < N; n++) x.fill(0, (n * T + T - (n % 3)) * I, (n + 1) * T * I);
  const y = Float32Array.from({ length: N }, (_, n) => (n % 2 === 0 ? 1 : 0));
  return { x, y };
}

describe('layerNormalization', () => {
  const cases: [string, Options][] = [
    ['scaled and centred', {}],
    ['without scale', { scale: false }],
    ['without centre', { center: false }],
    ['with masked steps', { masked: true }],
  ];
  for (const [name, options] of cases) {
    it(`trains as in TensorFlow.js: ${name}`, async () => {
      const { ours, theirs } = twins(options);
      const { x, y } = data(options.masked ?? false);
      const [xs, ys] = [gw.tensor(x, [N, T, I]), gw.tensor(y, [N, 1])];
      const [xt, yt] = [tf.tensor3d(x, [N, T, I]), tf.tensor2d(y, [N, 1])];
      const predicted = await ours.predict(xs);
      expect(maxAbsDiff(predicted.dataSync(), (theirs.predict(xt) as tf.Tensor).dataSync())).toBeLessThan(
        1e-6,
      );
      predicted.dispose();
      // Three steps; one where the twin's extra gamma or beta would move.
      const steps = options.center === false || options.scale === false ? 1 : 3;
      for (let step = 0; step < steps; step++) {
        const loss = await ours.trainOnBatch(xs, ys);
        const theirLoss = (await theirs.trainOnBatch(xt, yt)) as number;
        expect(Math.abs(loss - theirLoss), `step ${step}`).toBeLessThan(1e-5);
      }
      expectSameWeights(ours, theirs, options);
      xs.dispose();
      ys.dispose();
      ours.dispose();
    });
  }

  it('is saved and read as TensorFlow.js writes it', async () => {
    const { ours, theirs } = twins({ scale: false });
    const { x } = data(false);
    const xs = gw.tensor(x, [N, T, I]);
    const xt = tf.tensor3d(x, [N, T, I]);
    const expected = await ours.predict(xs);
    await ours.save(join(dir, 'ours'));
    const { model: loadedByThem, json } = await loadIntoTfjs(join(dir, 'ours'));
    expect(json.modelTopology.config.layers[1]?.class_name).toBe('LayerNormalization');
    expect(json.modelTopology.config.layers[1]?.config).toMatchObject({
      axis: -1,
      epsilon: 0.001,
      scale: false,
    });
    expect(maxAbsDiff((loadedByThem.predict(xt) as tf.Tensor).dataSync(), expected.dataSync())).toBeLessThan(
      1e-6,
    );
    await saveTfjsModel(theirs, join(dir, 'theirs'));
    const loaded = await gw.loadModel(join(dir, 'theirs'));
    const again = await loaded.predict(xs);
    expect(maxAbsDiff(again.dataSync(), expected.dataSync())).toBeLessThan(1e-6);
    // Keras writes a built layer's axis as a list of positive axes.
    const keras = gw.layers.layerNormalization({ axis: 2 });
    const model = gw.sequential();
    model.add(gw.layers.gru({ units: H, returnSequences: true, inputShape: [T, I] }));
    model.add(keras);
    expect(model.outputShape).toEqual([T, H]);
    for (const t of [xs, expected, again]) t.dispose();
    for (const m of [ours, loaded, model]) m.dispose();
  });

  it('trains on data-parallel workers as on this thread', async () => {
    const { x, y } = data(true);
    const [xs, ys] = [gw.tensor(x, [N, T, I]), gw.tensor(y, [N, 1])];
    const trained = async (workers: number) => {
      const { ours } = twins({ masked: true });
      ours.compile({
        optimizer: gw.optimizers.sgd({ learningRate: 0.5 }),
        loss: 'binaryCrossentropy',
        workers,
      });
      await ours.fit(xs, ys, { epochs: 2, batchSize: 4, shuffle: false, verbose: 0 });
      const weights = ours.snapshotWeights().flatMap((w) => Array.from(w));
      ours.dispose();
      return weights;
    };
    expect(maxAbsDiff(await trained(2), await trained(0))).toBeLessThan(1e-5);
    xs.dispose();
    ys.dispose();
  });

  it('names what it refuses', () => {
    expect(() => gw.layers.layerNormalization({ epsilon: 0 })).toThrow(
      'epsilon must be a positive number, got 0',
    );
    const model = gw.sequential();
    model.add(gw.layers.gru({ units: H, returnSequences: true, inputShape: [T, I] }));
    expect(() => model.add(gw.layers.layerNormalization({ axis: 1, name: 'ln' }))).toThrow(
      'layer_normalization ln: normalizes the last axis only (-1 or 2 here), got axis 1',
    );
    model.dispose();
  });
});
