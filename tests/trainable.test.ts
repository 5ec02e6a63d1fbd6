/**
 * Frozen layers (Keras' `trainable: false`): training leaves their weights
 * and still trains the layers before them through them. Against
 * TensorFlow.js with a frozen (pretrained) embedding on identical weights;
 * Keras' rule that a change counts from the next `compile`; on workers;
 * saved and loaded both ways; and the summary's counts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as gw from '../ts/index.js';
import { flatWeights, maxAbsDiff, weightsOf } from './support/compare.js';
import { randomUniform } from './support/random.js';
import { loadIntoTfjs } from './support/tfjs-files.js';

const [N, T, V, E, H] = [6, 5, 9, 4, 5];
const dir = mkdtempSync(join(tmpdir(), 'gru-wasm-trainable-'));

beforeAll(async () => {
  await tf.setBackend('cpu');
  await gw.ready();
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

const ids = Float32Array.from({ length: N * T }, (_, i) => (i * 7 + 3) % V);
const targets = Float32Array.from({ length: N }, (_, n) => n % 2);

/** A frozen Embedding → GRU → Dense(1, sigmoid). */
function model(
  workers = 0,
  optimizer: gw.optimizers.Optimizer = gw.optimizers.adam({ learningRate: 0.05 }),
  kernel = gw.kernel(),
): gw.Sequential {
  gw.setRandomSeed(13);
  const m = new gw.Sequential(kernel);
  m.add(gw.layers.embedding({ inputDim: V, outputDim: E, inputShape: [T], trainable: false }));
  m.add(gw.layers.gru({ units: H }));
  m.add(gw.layers.dense({ units: 1, activation: 'sigmoid' }));
  m.compile({ optimizer, loss: 'binaryCrossentropy', workers });
  return m;
}

describe('a frozen layer', () => {
  it('keeps its weights while the others train as in TensorFlow.js', async () => {
    // SGD, whose steps do not amplify the two's rounding as Adam's early steps do.
    const ours = model(0, gw.optimizers.sgd({ learningRate: 0.5 }));
    const theirs = tf.sequential();
    theirs.add(tf.layers.embedding({ inputDim: V, outputDim: E, inputLength: T, trainable: false }));
    theirs.add(tf.layers.gru({ units: H, recurrentActivation: 'sigmoid' }));
    theirs.add(tf.layers.dense({ units: 1, activation: 'sigmoid' }));
    theirs.compile({ optimizer: tf.train.sgd(0.5), loss: 'binaryCrossentropy' });
    // TensorFlow.js lists a model's frozen weights last: set and read them layer by layer.
    const ourWeights = ours.getWeights();
    let next = 0;
    for (const layer of theirs.layers) {
      const count = layer.getWeights().length;
      layer.setWeights(
        ourWeights.slice(next, next + count).map((w) => tf.tensor(w.dataSync(), [...w.shape])),
      );
      next += count;
    }
    const before = weightsOf(ours);
    for (let step = 0; step < 3; step++) {
      const loss = await ours.trainOnBatch(gw.tensor(ids, [N, T]), gw.tensor(targets, [N, 1]));
      const theirLoss = (await theirs.trainOnBatch(
        tf.tensor2d(ids, [N, T]),
        tf.tensor2d(targets, [N, 1]),
      )) as number;
      expect(Math.abs(loss - theirLoss)).toBeLessThan(1e-5);
    }
    const after = weightsOf(ours);
    expect(Array.from(after[0] as Float32Array)).toEqual(Array.from(before[0] as Float32Array));
    for (let i = 1; i < after.length; i++)
      expect(maxAbsDiff(after[i] as Float32Array, before[i] as Float32Array)).toBeGreaterThan(1e-4);
    const theirWeights = theirs.layers
      .flatMap((l) => l.getWeights())
      .flatMap((w) => Array.from(w.dataSync()));
    expect(maxAbsDiff(flatWeights(ours), theirWeights)).toBeLessThan(1e-5);
    expect(ours.summary(() => {})).toContain(`Non-trainable params: ${V * E}`);
    ours.dispose();
  });

  it('holds pretrained vectors set through getLayer(...).setWeights', async () => {
    const m = model();
    const pretrained = randomUniform(7, V * E);
    const embedding = m.getLayer(0);
    expect(m.getLayer(embedding.name)).toBe(embedding);
    embedding.setWeights([gw.tensor(pretrained, [V, E])]);
    await m.fit(gw.tensor(ids, [N, T]), gw.tensor(targets, [N, 1]), { epochs: 3, verbose: 0 });
    const [held] = embedding.getWeights();
    expect(held?.shape).toEqual([V, E]);
    expect(Array.from(held?.dataSync() ?? [])).toEqual(Array.from(pretrained));
    expect(() => m.getLayer('glove')).toThrow(/getLayer: no layer named 'glove' \(the model has /);
    expect(() => m.getLayer(3)).toThrow(/no layer at index 3/);
    expect(() => embedding.setWeights([])).toThrow(
      `setWeights: layer ${embedding.name} has 1 weights, got 0`,
    );
    expect(() => embedding.setWeights([gw.tensor(pretrained, [E, V])])).toThrow(
      /has shape \[9, 4\], got \[4, 9\]/,
    );
    m.dispose();
  });

  it('counts from the next compile, as in Keras', async () => {
    const m = model();
    const gruLayer = m.layers[1] as gw.layers.Layer;
    const x = gw.tensor(ids, [N, T]);
    const y = gw.tensor(targets, [N, 1]);
    // Frozen after compile: still trains until the model is compiled again.
    gruLayer.trainable = false;
    let before = weightsOf(m);
    await m.trainOnBatch(x, y);
    expect(maxAbsDiff(weightsOf(m)[1] as Float32Array, before[1] as Float32Array)).toBeGreaterThan(1e-4);
    m.compile({ optimizer: 'adam', loss: 'binaryCrossentropy' });
    before = weightsOf(m);
    await m.trainOnBatch(x, y);
    const after = weightsOf(m);
    for (const i of [0, 1, 2, 3])
      expect(Array.from(after[i] as Float32Array)).toEqual(Array.from(before[i] as Float32Array));
    expect(maxAbsDiff(after[4] as Float32Array, before[4] as Float32Array)).toBeGreaterThan(1e-4);
    m.dispose();
  });

  it('stays frozen on workers, which train as this thread does', async () => {
    const here = model();
    const there = model(2);
    const before = weightsOf(there);
    const x = gw.tensor(ids, [N, T]);
    const y = gw.tensor(targets, [N, 1]);
    await here.fit(x, y, { epochs: 2, batchSize: N, verbose: 0 });
    await there.fit(x, y, { epochs: 2, batchSize: N, verbose: 0 });
    expect(Array.from(weightsOf(there)[0] as Float32Array)).toEqual(Array.from(before[0] as Float32Array));
    expect(maxAbsDiff(flatWeights(there), flatWeights(here))).toBeLessThan(1e-5);
    here.dispose();
    there.dispose();
  });

  it('stays frozen in a worker that hosts fit where memory is not shared, bit for bit as here', async () => {
    const simd = await gw.Kernel.load('simd');
    const here = model(0, undefined, simd);
    const hosted = model(1, undefined, simd);
    const before = weightsOf(hosted);
    const data = () =>
      [gw.tensor(ids, [N, T], { kernel: simd }), gw.tensor(targets, [N, 1], { kernel: simd })] as const;
    await here.fit(...data(), { epochs: 2, batchSize: 3, seed: 5, verbose: 0 });
    await hosted.fit(...data(), { epochs: 2, batchSize: 3, seed: 5, verbose: 0 });
    expect(Array.from(weightsOf(hosted)[0] as Float32Array)).toEqual(Array.from(before[0] as Float32Array));
    expect(flatWeights(hosted)).toEqual(flatWeights(here));
    here.dispose();
    hosted.dispose();
  });

  it('is saved frozen, and TensorFlow.js loads it so', async () => {
    const ours = model();
    const target = join(dir, 'frozen');
    await ours.save(target);
    const loaded = await gw.loadModel(target);
    expect(loaded.layers.map((l) => l.trainable)).toEqual([false, true, true]);
    const { model: inTfjs } = await loadIntoTfjs(target);
    expect(inTfjs.layers.map((l) => l.trainable)).toEqual([false, true, true]);
    loaded.compile({ optimizer: 'sgd', loss: 'binaryCrossentropy' });
    const before = weightsOf(loaded);
    await loaded.trainOnBatch(gw.tensor(ids, [N, T]), gw.tensor(targets, [N, 1]));
    expect(Array.from(weightsOf(loaded)[0] as Float32Array)).toEqual(Array.from(before[0] as Float32Array));
    ours.dispose();
    loaded.dispose();
  });
});
