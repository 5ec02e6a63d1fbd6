/**
 * The Activation layer against TensorFlow.js on identical weights: forward,
 * its input gradient (through a weight update), and files both ways.
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

const [N, T, I, H, C] = [5, 4, 3, 6, 3];
const dir = mkdtempSync(join(tmpdir(), 'gru-wasm-activation-'));

beforeAll(async () => {
  await tf.setBackend('cpu');
  await gw.ready();
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('activation layer', () => {
  for (const hidden of ['relu', 'tanh', 'sigmoid', 'hardSigmoid'] as const) {
    it(`${hidden} between layers and softmax at the end train as in TensorFlow.js`, async () => {
      gw.setRandomSeed(2);
      const ours = gw.sequential();
      ours.add(gw.layers.gru({ units: H, returnSequences: true, inputShape: [T, I] }));
      ours.add(gw.layers.activation({ activation: hidden }));
      ours.add(gw.layers.gru({ units: H }));
      ours.add(gw.layers.dense({ units: C }));
      ours.add(gw.layers.activation({ activation: 'softmax' }));
      ours.compile({ optimizer: 'sgd', loss: 'categoricalCrossentropy' });
      const theirs = tf.sequential();
      theirs.add(
        tf.layers.gru({
          units: H,
          returnSequences: true,
          inputShape: [T, I],
          recurrentActivation: 'sigmoid',
        }),
      );
      theirs.add(tf.layers.activation({ activation: hidden }));
      theirs.add(tf.layers.gru({ units: H, recurrentActivation: 'sigmoid' }));
      theirs.add(tf.layers.dense({ units: C }));
      theirs.add(tf.layers.activation({ activation: 'softmax' }));
      theirs.compile({ optimizer: 'sgd', loss: 'categoricalCrossentropy' });
      theirs.setWeights(ours.getWeights().map((w) => tf.tensor(w.dataSync(), [...w.shape])));

      const x = randomUniform(3, N * T * I, -2, 2);
      const y = new Float32Array(N * C);
      for (let n = 0; n < N; n++) y[n * C + (n % C)] = 1;
      const predicted = (await ours.predict(gw.tensor(x, [N, T, I]))).dataSync();
      const expected = (theirs.predict(tf.tensor3d(x, [N, T, I])) as tf.Tensor).dataSync();
      expect(maxAbsDiff(predicted, expected)).toBeLessThan(1e-6);
      const loss = await ours.trainOnBatch(gw.tensor(x, [N, T, I]), gw.tensor(y, [N, C]));
      const theirLoss = (await theirs.trainOnBatch(
        tf.tensor3d(x, [N, T, I]),
        tf.tensor2d(y, [N, C]),
      )) as number;
      expect(Math.abs(loss - theirLoss)).toBeLessThan(1e-6);
      // The first GRU's update needs the gradient through the activation layer.
      expect(maxAbsDiff(flatWeights(ours), flatWeights(theirs))).toBeLessThan(1e-6);
      ours.dispose();
    });
  }

  it('saves and loads both ways with TensorFlow.js', async () => {
    gw.setRandomSeed(8);
    const ours = gw.sequential();
    ours.add(gw.layers.gru({ units: H, inputShape: [T, I] }));
    ours.add(gw.layers.dense({ units: C }));
    ours.add(gw.layers.activation({ activation: 'softmax' }));
    const x = randomUniform(9, N * T * I, -1, 1);
    const expected = (await ours.predict(gw.tensor(x, [N, T, I]))).dataSync();
    await ours.save(join(dir, 'ours'));
    const { model: theirs, json } = await loadIntoTfjs(join(dir, 'ours'));
    expect(json.modelTopology.config.layers[2]).toMatchObject({
      class_name: 'Activation',
      config: { activation: 'softmax' },
    });
    expect(
      maxAbsDiff((theirs.predict(tf.tensor3d(x, [N, T, I])) as tf.Tensor).dataSync(), expected),
    ).toBeLessThan(1e-6);
    await saveTfjsModel(theirs, join(dir, 'theirs'));
    const loaded = await gw.loadModel(join(dir, 'theirs'));
    expect(loaded.layers.map((l) => l.className)).toEqual(['GRU', 'Dense', 'Activation']);
    expect((await loaded.predict(gw.tensor(x, [N, T, I]))).dataSync()).toEqual(expected);
    ours.dispose();
    loaded.dispose();
  });
});
