/**
 * `fit({ classWeight })` (Keras' class_weight): against TensorFlow.js on
 * identical weights for binary and one-hot targets, and against the
 * sample weights it stands for (sparse targets per step, classes not
 * named, a product with `sampleWeight`).
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import * as gw from '../ts/index.js';
import { flatWeights, maxAbsDiff } from './support/compare.js';
import { randomUniform } from './support/random.js';

const [N, T, I, H] = [8, 4, 3, 5];
const x = randomUniform(1, N * T * I);

beforeAll(async () => {
  await tf.setBackend('cpu');
  await gw.ready();
});

/** GRU → Dense(outputs, activation), and the same model in TensorFlow.js with its weights. */
function models(
  outputs: number,
  activation: 'sigmoid' | 'softmax',
  loss: 'binaryCrossentropy' | 'categoricalCrossentropy',
) {
  gw.setRandomSeed(3);
  const ours = gw.sequential();
  ours.add(gw.layers.gru({ units: H, inputShape: [T, I] }));
  ours.add(gw.layers.dense({ units: outputs, activation }));
  ours.compile({ optimizer: gw.optimizers.sgd({ learningRate: 0.5 }), loss });
  const theirs = tf.sequential();
  theirs.add(tf.layers.gru({ units: H, inputShape: [T, I], recurrentActivation: 'sigmoid' }));
  theirs.add(tf.layers.dense({ units: outputs, activation }));
  theirs.compile({ optimizer: tf.train.sgd(0.5), loss });
  theirs.setWeights(ours.getWeights().map((w) => tf.tensor(w.dataSync(), [...w.shape])));
  return { ours, theirs };
}

describe('classWeight', () => {
  it('weighs binary and one-hot targets as TensorFlow.js does', async () => {
    const cases = [
      {
        outputs: 1,
        activation: 'sigmoid' as const,
        loss: 'binaryCrossentropy' as const,
        y: Float32Array.from({ length: N }, (_, n) => (n % 3 === 0 ? 1 : 0)),
        classWeight: { 0: 0.5, 1: 3 } as Record<number, number>,
      },
      {
        outputs: 3,
        activation: 'softmax' as const,
        loss: 'categoricalCrossentropy' as const,
        y: Float32Array.from({ length: N * 3 }, (_, i) => (i % 3 === Math.floor(i / 3) % 3 ? 1 : 0)),
        classWeight: { 0: 1, 1: 0.25, 2: 4 } as Record<number, number>,
      },
    ];
    for (const { outputs, activation, loss, y, classWeight } of cases) {
      const { ours, theirs } = models(outputs, activation, loss);
      const fitArgs = { epochs: 3, batchSize: 4, shuffle: false, classWeight };
      const history = await ours.fit(gw.tensor(x, [N, T, I]), gw.tensor(y, [N, outputs]), {
        ...fitArgs,
        verbose: 0,
      });
      const theirHistory = await theirs.fit(tf.tensor3d(x, [N, T, I]), tf.tensor2d(y, [N, outputs]), {
        ...fitArgs,
        verbose: 0,
      });
      const theirLoss = theirHistory.history.loss as number[];
      expect(maxAbsDiff(history.history.loss as number[], theirLoss), loss).toBeLessThan(1e-5);
      const theirWeights = theirs.getWeights().flatMap((w) => Array.from(w.dataSync()));
      expect(maxAbsDiff(flatWeights(ours), theirWeights), loss).toBeLessThan(1e-5);
      ours.dispose();
    }
  });

  it('is the sample weights it stands for: per step, classes not named, times sampleWeight', async () => {
    // Sparse labels at every step of a sequence output.
    const labels = Float32Array.from({ length: N * T }, (_, i) => (i * 5) % 3);
    const train = async (args: gw.FitArgs) => {
      gw.setRandomSeed(9);
      const m = gw.sequential();
      m.add(gw.layers.gru({ units: H, returnSequences: true, inputShape: [T, I] }));
      m.add(gw.layers.dense({ units: 3, activation: 'softmax' }));
      m.compile({
        optimizer: gw.optimizers.sgd({ learningRate: 0.5 }),
        loss: 'sparseCategoricalCrossentropy',
      });
      const history = await m.fit(gw.tensor(x, [N, T, I]), gw.tensor(labels, [N, T]), {
        epochs: 2,
        batchSize: 4,
        shuffle: false,
        verbose: 0,
        ...args,
      });
      const weights = flatWeights(m);
      m.dispose();
      return { loss: history.history.loss, weights };
    };
    const perSequence = randomUniform(4, N, 0.5, 2);
    const byClass = [1, 1, 2.5];
    const explicit = Float32Array.from(
      labels,
      (label, i) => (byClass[label] as number) * (perSequence[Math.floor(i / T)] as number),
    );
    const fromClasses = await train({ classWeight: { 2: 2.5 }, sampleWeight: gw.tensor(perSequence, [N]) });
    const fromSamples = await train({ sampleWeight: gw.tensor(explicit, [N, T]) });
    expect(fromClasses).toEqual(fromSamples);
    expect(fromClasses).not.toEqual(await train({}));
  });

  it('names a bad class or weight', async () => {
    const { ours } = models(1, 'sigmoid', 'binaryCrossentropy');
    const [xs, ys] = [gw.tensor(x, [N, T, I]), gw.tensor(new Float32Array(N), [N, 1])];
    await expect(ours.fit(xs, ys, { classWeight: { [-1]: 2 }, verbose: 0 })).rejects.toThrow(
      /classWeight keys must be class indices \(integers ≥ 0\), got '-1'/,
    );
    await expect(ours.fit(xs, ys, { classWeight: { 1: Number.NaN }, verbose: 0 })).rejects.toThrow(
      /classWeight\[1\] must be a finite weight ≥ 0, got NaN/,
    );
    ours.dispose();
  });
});
