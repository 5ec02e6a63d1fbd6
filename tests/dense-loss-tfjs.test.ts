/**
 * Dense layers (2-D and 3-D inputs, every activation) and the losses against
 * TensorFlow.js on identical weights: values and gradients.
 */
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
  ];
  for (const [name, predictions, truth, metric, truthShape] of cases) {
    it(name, () => {
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
