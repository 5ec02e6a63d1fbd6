/**
 * Dense layers (2-D and 3-D inputs, every activation) and the losses against
 * TensorFlow.js on identical weights: values and gradients.
 */
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as gw from '../ts/index.js';
import { type Activation, Kernel, type LossName, type Ptr } from '../ts/index.js';
import { expectClose, expectRelClose } from './support/compare.js';
import { randomUniform } from './support/random.js';

let kernel: Kernel;
beforeAll(async () => {
  await tf.setBackend('cpu');
  kernel = await Kernel.load('simd');
});
afterAll(() => {
  expect(kernel.live().tensors).toBe(0);
});

function withTensors<T>(body: (own: (p: Ptr) => Ptr) => T): T {
  const owned: Ptr[] = [];
  try {
    return body((p) => {
      owned.push(p);
      return p;
    });
  } finally {
    for (const p of owned) kernel.free(p);
  }
}

describe('dense vs TensorFlow.js', () => {
  const activations: Activation[] = ['linear', 'sigmoid', 'tanh', 'relu', 'softmax'];
  const shapes = [
    { name: '2-D', inputShape: [6, 5] },
    { name: '3-D', inputShape: [3, 4, 5] },
  ];
  for (const { name, inputShape } of shapes) {
    for (const [index, activation] of activations.entries()) {
      it(`${name} ${activation}`, () => {
        const input = inputShape[inputShape.length - 1] as number;
        const units = 7;
        const rows = inputShape.slice(0, -1).reduce((a, b) => a * b, 1);
        const x = randomUniform(index + 1, rows * input);
        const w = randomUniform(index + 2, input * units);
        const b = randomUniform(index + 3, units, -0.5, 0.5);
        const upstream = randomUniform(index + 4, rows * units);

        const ours = withTensors((own) => {
          const buffers = {
            x: own(kernel.upload(x)),
            kernel: own(kernel.upload(w)),
            bias: own(kernel.upload(b)),
          };
          const y = own(kernel.alloc(rows * units));
          kernel.denseForward({ rows, input, units }, activation, { ...buffers, y });
          const grads = {
            dKernel: own(kernel.alloc(w.length)),
            dBias: own(kernel.alloc(units)),
            dX: own(kernel.alloc(x.length)),
          };
          const dy = own(kernel.upload(upstream));
          kernel.denseBackward({ rows, input, units }, activation, { ...buffers, y, dy, ...grads });
          return {
            y: kernel.download(y),
            dKernel: kernel.download(grads.dKernel),
            dBias: kernel.download(grads.dBias),
            dX: kernel.download(grads.dX),
          };
        });

        const layer = tf.layers.dense({ units, activation });
        const xt = tf.tensor(x, inputShape);
        layer.build(inputShape);
        layer.setWeights([tf.tensor2d(w, [input, units]), tf.tensor1d(b)]);
        const up = tf.tensor(upstream, [...inputShape.slice(0, -1), units]);
        const f = (xIn: tf.Tensor, kIn: tf.Tensor, bIn: tf.Tensor) => {
          const z = tf.add(tf.matMul(xIn.reshape([rows, input]), kIn), bIn);
          const act =
            activation === 'softmax' ? tf.softmax(z) : tf.layers.activation({ activation }).apply(z);
          return tf.sum(tf.mul((act as tf.Tensor).reshape(up.shape), up));
        };
        // The layer itself gives the forward; tf.grads the gradients.
        const yTheirs = (layer.apply(xt) as tf.Tensor).dataSync();
        const [gx, gk, gb] = tf.grads(f)([xt, tf.tensor2d(w, [input, units]), tf.tensor1d(b)]);
        expectClose('y', ours.y, yTheirs, 2e-6);
        expectRelClose('dKernel', ours.dKernel, (gk as tf.Tensor).dataSync(), 1e-5);
        expectRelClose('dBias', ours.dBias, (gb as tf.Tensor).dataSync(), 1e-5);
        expectRelClose('dX', ours.dX, (gx as tf.Tensor).dataSync(), 1e-5);
      });
    }
  }
});

describe('losses vs TensorFlow.js', () => {
  const samples = 6;
  const width = 4;
  const probs = randomUniform(1, samples * width, 0.02, 0.98);
  const normalised = new Float32Array(samples * width);
  for (let n = 0; n < samples; n++) {
    const row = probs.subarray(n * width, (n + 1) * width);
    const sum = row.reduce((a, b) => a + b, 0);
    row.forEach((v, j) => {
      normalised[n * width + j] = v / sum;
    });
  }
  const binary = Float32Array.from({ length: samples * width }, (_, i) => (i % 3 === 0 ? 1 : 0));
  const labels = Float32Array.from({ length: samples }, (_, n) => n % width);
  const oneHot = Float32Array.from({ length: samples * width }, (_, i) =>
    i % width === (labels[Math.floor(i / width)] as number) ? 1 : 0,
  );
  const values = randomUniform(2, samples * width, -2, 2);
  const targets = randomUniform(3, samples * width, -2, 2);
  const signs = binary.map((b) => 2 * b - 1);

  type Case = [LossName, Float32Array, Float32Array, (y: tf.Tensor, p: tf.Tensor) => tf.Tensor, number[]];
  const cases: Case[] = [
    ['binaryCrossentropy', probs, binary, tf.metrics.binaryCrossentropy, [samples, width]],
    ['categoricalCrossentropy', normalised, oneHot, tf.metrics.categoricalCrossentropy, [samples, width]],
    // TensorFlow.js exports no sparse metric: its definition is the one-hot loss.
    [
      'sparseCategoricalCrossentropy',
      normalised,
      labels,
      (_y, p) => tf.metrics.categoricalCrossentropy(tf.tensor(oneHot, [samples, width]), p),
      [samples],
    ],
    ['meanSquaredError', values, targets, tf.metrics.meanSquaredError, [samples, width]],
    ['meanAbsoluteError', values, targets, tf.metrics.meanAbsoluteError, [samples, width]],
    [
      'meanAbsolutePercentageError',
      values,
      targets,
      tf.metrics.meanAbsolutePercentageError,
      [samples, width],
    ],
    // Keras' formulas in TensorFlow.js ops (its layers' own losses are not
    // exported; the training test below uses them by name): tf.grad gives
    // the oracle gradients.
    [
      'meanSquaredLogarithmicError',
      probs,
      normalised,
      (y, p) => {
        const log1pClipped = (t: tf.Tensor) => tf.log1p(tf.clipByValue(t, 1e-7, Number.MAX_VALUE));
        return tf.mean(tf.square(tf.sub(log1pClipped(p), log1pClipped(y))), -1);
      },
      [samples, width],
    ],
    ['huber', values, targets, (y, p) => tf.losses.huberLoss(y, p, undefined, 1), [samples, width]],
    [
      'logcosh',
      values,
      targets,
      (y, p) => {
        const x = tf.sub(p, y);
        return tf.mean(tf.sub(tf.add(x, tf.softplus(tf.mul(-2, x))), Math.log(2)), -1);
      },
      [samples, width],
    ],
    [
      'poisson',
      probs,
      binary,
      (y, p) => tf.mean(tf.sub(p, tf.mul(y, tf.log(tf.add(p, 1e-7)))), -1),
      [samples, width],
    ],
    [
      'kullbackLeiblerDivergence',
      normalised,
      probs,
      (y, p) => {
        const [yc, pc] = [tf.clipByValue(y, 1e-7, 1), tf.clipByValue(p, 1e-7, 1)];
        return tf.sum(tf.mul(yc, tf.log(tf.div(yc, pc))), -1);
      },
      [samples, width],
    ],
    // Keras' hinge formulas: its `maximum(m, 0)`, targets ±1.
    ['hinge', values, signs, (y, p) => tf.mean(tf.relu(tf.sub(1, tf.mul(y, p))), -1), [samples, width]],
    // TensorFlow.js' own hinge loss turns 0/1 labels into ±1 as ours does.
    [
      'hinge',
      values,
      binary,
      (y, p) => tf.losses.hingeLoss(y, p, undefined, tf.Reduction.NONE),
      [samples, width],
    ],
    [
      'squaredHinge',
      values,
      signs,
      (y, p) => tf.mean(tf.square(tf.relu(tf.sub(1, tf.mul(y, p)))), -1),
      [samples, width],
    ],
    [
      'categoricalHinge',
      values,
      oneHot,
      (y, p) => {
        const positive = tf.sum(tf.mul(y, p), -1);
        const negative = tf.max(tf.mul(tf.sub(1, y), p), -1);
        return tf.maximum(0, tf.add(1, tf.sub(negative, positive)));
      },
      [samples, width],
    ],
    [
      'cosineSimilarity',
      values,
      targets,
      (y, p) => {
        const unit = (t: tf.Tensor) => tf.div(t, tf.sqrt(tf.maximum(tf.sum(tf.square(t), -1, true), 1e-7)));
        return tf.neg(tf.sum(tf.mul(unit(y), unit(p)), -1));
      },
      [samples, width],
    ],
  ];
  for (const [index, [name, predictions, truth, metric, truthShape]] of cases.entries()) {
    it(`${name} (case ${index})`, () => {
      const ours = withTensors((own) => {
        const grad = own(kernel.alloc(predictions.length));
        const value = kernel.loss(
          name,
          { samples, width },
          { predictions: own(kernel.upload(predictions)), targets: own(kernel.upload(truth)), grad },
        );
        return { value, grad: kernel.download(grad) };
      });
      const yTrue = tf.tensor(truth, truthShape);
      const lossOf = (p: tf.Tensor) => tf.mean(metric(yTrue, p));
      const p = tf.tensor(predictions, [samples, width]);
      const theirs = lossOf(p).dataSync()[0] as number;
      const theirGrad = tf.grad(lossOf)(p).dataSync();
      expect(
        Math.abs(ours.value - theirs) / Math.abs(theirs),
        `${name}: ${ours.value} vs ${theirs}`,
      ).toBeLessThan(1e-5);
      expectRelClose(`${name} gradient`, ours.grad, theirGrad, 1e-4);
    });
  }
});

describe('training with the other losses, as TensorFlow.js trains with them by name', () => {
  // TensorFlow.js' layers compile these names to their own implementations.
  const byName = [
    'meanAbsolutePercentageError',
    'meanSquaredLogarithmicError',
    'logcosh',
    'poisson',
    'kullbackLeiblerDivergence',
    'hinge',
    'squaredHinge',
    'categoricalHinge',
    'cosineProximity',
  ] as const;
  // Each loss' usual head and targets: ±1 for the hinges (and the cosine),
  // one-hot for the categorical hinge, values in (0, 1) for the rest.
  const heads: Partial<
    Record<(typeof byName)[number], { activation: gw.Activation; targets?: 'signs' | 'oneHot' }>
  > = {
    kullbackLeiblerDivergence: { activation: 'softmax' },
    hinge: { activation: 'tanh', targets: 'signs' },
    squaredHinge: { activation: 'tanh', targets: 'signs' },
    categoricalHinge: { activation: 'linear', targets: 'oneHot' },
    cosineProximity: { activation: 'linear', targets: 'signs' },
  };
  for (const [index, loss] of byName.entries()) {
    it(loss, async () => {
      await gw.ready();
      const [n, steps, features, units, outputs] = [5, 4, 3, 6, 3];
      gw.setRandomSeed(30 + index);
      const ours = gw.sequential();
      ours.add(gw.layers.gru({ units, inputShape: [steps, features] }));
      const head = heads[loss];
      const activation = head?.activation ?? 'sigmoid';
      ours.add(gw.layers.dense({ units: outputs, activation }));
      ours.compile({ optimizer: gw.optimizers.sgd({ learningRate: 0.1 }), loss });
      const theirs = tf.sequential();
      theirs.add(tf.layers.gru({ units, inputShape: [steps, features], recurrentActivation: 'sigmoid' }));
      theirs.add(tf.layers.dense({ units: outputs, activation }));
      theirs.compile({ optimizer: tf.train.sgd(0.1), loss });
      theirs.setWeights(ours.getWeights().map((w) => tf.tensor(w.dataSync(), [...w.shape])));
      const x = randomUniform(40 + index, n * steps * features);
      const uniform = randomUniform(50 + index, n * outputs, 0.05, 1);
      const y =
        head?.targets === 'signs'
          ? uniform.map((v) => (v > 0.5 ? 1 : -1))
          : head?.targets === 'oneHot'
            ? uniform.map((_, i) => (i % outputs === Math.floor(i / outputs) % outputs ? 1 : 0))
            : uniform;
      for (let step = 0; step < 3; step++) {
        const value = await ours.trainOnBatch(gw.tensor(x, [n, steps, features]), gw.tensor(y, [n, outputs]));
        const theirValue = (await theirs.trainOnBatch(
          tf.tensor3d(x, [n, steps, features]),
          tf.tensor2d(y, [n, outputs]),
        )) as number;
        expect(Math.abs(value - theirValue), `${loss} step ${step}: ${value} vs ${theirValue}`).toBeLessThan(
          1e-5 * Math.max(1, Math.abs(theirValue)),
        );
      }
      const theirWeights = theirs.getWeights().flatMap((w) => Array.from(w.dataSync()));
      const ourWeights = ours.getWeights().flatMap((w) => Array.from(w.dataSync()));
      expectClose(`${loss} weights after 3 steps`, Float32Array.from(ourWeights), theirWeights, 1e-5);
      ours.dispose();
    });
  }
});

describe('regression metrics', () => {
  it('reports mape and msle as the kernel’s losses and TensorFlow.js compute them', async () => {
    await gw.ready();
    const [n, steps, features, outputs] = [6, 4, 3, 2];
    gw.setRandomSeed(40);
    const ours = gw.sequential();
    ours.add(gw.layers.gru({ units: 5, inputShape: [steps, features] }));
    ours.add(gw.layers.dense({ units: outputs, activation: 'sigmoid' }));
    const x = gw.tensor(randomUniform(41, n * steps * features), [n, steps, features]);
    const yValues = randomUniform(42, n * outputs, 0.1, 2);
    const y = gw.tensor(yValues, [n, outputs]);
    ours.compile({ optimizer: 'sgd', loss: 'mape', metrics: ['mape', 'msle'] });
    const [mapeLoss, mape, msle] = (await ours.evaluate(x, y)) as [number, number, number];
    ours.compile({ optimizer: 'sgd', loss: 'msle' });
    const msleLoss = (await ours.evaluate(x, y)) as number;
    expect(Math.abs(mape - mapeLoss) / mapeLoss).toBeLessThan(1e-6);
    expect(Math.abs(msle - msleLoss) / msleLoss).toBeLessThan(1e-6);

    const theirs = tf.sequential();
    theirs.add(tf.layers.gru({ units: 5, inputShape: [steps, features], recurrentActivation: 'sigmoid' }));
    theirs.add(tf.layers.dense({ units: outputs, activation: 'sigmoid' }));
    theirs.setWeights(ours.getWeights().map((w) => tf.tensor(w.dataSync(), [...w.shape])));
    theirs.compile({ optimizer: 'sgd', loss: 'meanSquaredError', metrics: ['mape'] });
    const theirMape = (
      theirs.evaluate(
        tf.tensor3d(x.dataSync(), [n, steps, features]),
        tf.tensor2d(yValues, [n, outputs]),
      ) as tf.Scalar[]
    )[1]?.dataSync()[0] as number;
    expect(Math.abs(mape - theirMape) / theirMape).toBeLessThan(1e-5);
    expect(() => ours.compile({ optimizer: 'sgd', loss: 'mse', metrics: ['r2'] })).toThrow(
      /unknown metric 'r2'/,
    );
    ours.dispose();
  });
});
