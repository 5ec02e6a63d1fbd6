/**
 * Training parity with TensorFlow.js: the same model (GRU → Dense(sigmoid),
 * resetAfter = false, sigmoid gates), the same initial weights and batches,
 * ten trainOnBatch steps with each optimizer; the losses agree at every step.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import * as gw from '../ts/index.js';
import { randomUniform } from './support/random.js';

const [N, T, I, H] = [16, 6, 3, 8];

beforeAll(async () => {
  await tf.setBackend('cpu');
  await gw.ready();
});

function data(seed: number) {
  const x = randomUniform(seed, N * T * I);
  const y = Float32Array.from(randomUniform(seed + 1, N, 0, 1), (v) => (v > 0.5 ? 1 : 0));
  return { x, y };
}

type Pair = [() => gw.optimizers.Optimizer, () => tf.Optimizer];
const optimizers: Record<string, Pair> = {
  'sgd with momentum': [
    () => gw.optimizers.sgd({ learningRate: 0.1, momentum: 0.9 }),
    () => tf.train.momentum(0.1, 0.9),
  ],
  'sgd with nesterov': [
    () => gw.optimizers.sgd({ learningRate: 0.1, momentum: 0.9, nesterov: true }),
    () => tf.train.momentum(0.1, 0.9, true),
  ],
  adam: [() => gw.optimizers.adam({ learningRate: 0.01 }), () => tf.train.adam(0.01)],
  rmsprop: [() => gw.optimizers.rmsprop({ learningRate: 0.01 }), () => tf.train.rmsprop(0.01, 0.9, 0, 1e-7)],
  adagrad: [() => gw.optimizers.adagrad({ learningRate: 0.1 }), () => tf.train.adagrad(0.1, 0.1)],
};

describe('training parity with TensorFlow.js', () => {
  for (const [name, [ours, theirs]] of Object.entries(optimizers)) {
    it(name, async () => {
      // Seeded: with Adam the two libraries' losses differ by 2e-5 relative
      // (median over 60 draws of initial weights; 7e-5 the worst), and an
      // unseeded CI run once drew weights that put them 1.2e-4 apart. The
      // same weights every run instead.
      gw.setRandomSeed(29);
      const model = gw.sequential();
      model.add(gw.layers.gru({ units: H, inputShape: [T, I] }));
      model.add(gw.layers.dense({ units: 1, activation: 'sigmoid' }));
      model.compile({ optimizer: ours(), loss: 'binaryCrossentropy' });

      const reference = tf.sequential();
      reference.add(tf.layers.gru({ units: H, inputShape: [T, I], recurrentActivation: 'sigmoid' }));
      reference.add(tf.layers.dense({ units: 1, activation: 'sigmoid' }));
      reference.compile({ optimizer: theirs(), loss: 'binaryCrossentropy' });
      reference.setWeights(
        model.getWeights().map((w) => {
          const values = w.dataSync();
          const shape = [...w.shape];
          w.dispose();
          return tf.tensor(values, shape);
        }),
      );

      for (let step = 0; step < 10; step++) {
        const { x, y } = data(100 + step);
        const gx = gw.tensor(x, [N, T, I]);
        const gy = gw.tensor(y, [N, 1]);
        const ourLoss = await model.trainOnBatch(gx, gy);
        const theirLoss = (await reference.trainOnBatch(
          tf.tensor3d(x, [N, T, I]),
          tf.tensor2d(y, [N, 1]),
        )) as number;
        expect(
          Math.abs(ourLoss - theirLoss) / theirLoss,
          `step ${step}: ${ourLoss} vs ${theirLoss}`,
        ).toBeLessThan(1e-4);
        gx.dispose();
        gy.dispose();
      }
      model.dispose();
    });
  }
});
