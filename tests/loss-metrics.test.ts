/**
 * Losses as metrics (Keras' `metrics=['binary_crossentropy']`), computed by
 * the kernel: cross-entropies against TensorFlow.js' `tf.metrics` on a GRU's
 * predictions, the others against the same loss compiled as the loss; a
 * masked sequence output; the same on data-parallel workers.
 */
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as gw from '../ts/index.js';
import { randomUniform } from './support/random.js';

const [N, T, I, H, K] = [12, 5, 3, 6, 3];
const models: gw.Sequential[] = [];
const x = randomUniform(1, N * T * I, -1, 1);
const oneHot = Float32Array.from({ length: N * K }, (_, i) => (i % K === Math.floor(i / K) % K ? 1 : 0));

beforeAll(async () => {
  await tf.setBackend('cpu');
  await gw.ready();
});

afterAll(() => {
  for (const m of models) m.dispose();
});

function build(
  loss: gw.CompileArgs['loss'],
  metrics: gw.MetricSpec[],
  options: { workers?: number; masked?: boolean } = {},
) {
  gw.setRandomSeed(5);
  const m = gw.sequential();
  if (options.masked) m.add(gw.layers.masking({ inputShape: [T, I] }));
  m.add(
    gw.layers.gru({
      units: H,
      returnSequences: options.masked ?? false,
      ...(options.masked ? {} : { inputShape: [T, I] }),
    }),
  );
  m.add(gw.layers.dense({ units: K, activation: 'softmax' }));
  m.compile({ optimizer: 'sgd', loss, metrics, workers: options.workers ?? 0 });
  models.push(m);
  return m;
}

async function evaluate(m: gw.Sequential, y: Float32Array, yShape: number[], xValues = x, batchSize = 5) {
  const [xs, ys] = [gw.tensor(xValues, [N, T, I]), gw.tensor(y, yShape)];
  const values = [await m.evaluate(xs, ys, { batchSize })].flat();
  xs.dispose();
  ys.dispose();
  return values;
}

describe('losses as metrics', () => {
  it('cross-entropies as TensorFlow.js’ metrics compute them on the predictions', async () => {
    const labels = Float32Array.from({ length: N }, (_, n) => n % K);
    const m = build('meanSquaredError', ['categoricalCrossentropy', 'binaryCrossentropy']);
    const [, categorical, binary] = await evaluate(m, oneHot, [N, K]);
    const predicted = await m.predict(gw.tensor(x, [N, T, I]));
    const [p, y] = [tf.tensor2d(predicted.dataSync(), [N, K]), tf.tensor2d(oneHot, [N, K])];
    predicted.dispose();
    expect(categorical).toBeCloseTo(
      tf.mean(tf.metrics.categoricalCrossentropy(y, p)).dataSync()[0] as number,
      6,
    );
    expect(binary).toBeCloseTo(tf.mean(tf.metrics.binaryCrossentropy(y, p)).dataSync()[0] as number, 6);
    const sparse = build('sparseCategoricalCrossentropy', ['sparseCategoricalCrossentropy']);
    const [, sparseValue] = await evaluate(sparse, labels, [N]);
    expect(sparseValue).toBeCloseTo(categorical as number, 6);
  });

  it('the other losses as the same loss compiled as the loss', async () => {
    const names = [
      'kld',
      'poisson',
      'logcosh',
      'huber',
      'hinge',
      'squaredHinge',
      'categoricalHinge',
    ] as const;
    const withMetrics = build('meanSquaredError', [...names]);
    const [, ...metrics] = await evaluate(withMetrics, oneHot, [N, K]);
    for (const [i, name] of names.entries()) {
      const [loss] = await evaluate(build(name, []), oneHot, [N, K]);
      expect(metrics[i], name).toBeCloseTo(loss as number, 6);
    }
  });

  it('leave masked steps out, as the loss does, and agree on workers', async () => {
    const masked = Float32Array.from(x);
    for (let n = 0; n < N; n++) masked.fill(0, (n * T + T - (n % 3)) * I, (n + 1) * T * I);
    const targets = Float32Array.from({ length: N * T * K }, (_, i) =>
      i % K === Math.floor(i / K) % K ? 1 : 0,
    );
    // In one batch the loss is the mean over the real steps, as the metric
    // is over all batches (the loss of an epoch averages batches by their
    // sequences, the metric pools the steps, as Keras' metrics do).
    const whole = (loss: gw.CompileArgs['loss'], metrics: gw.MetricSpec[], workers = 0) =>
      evaluate(build(loss, metrics, { masked: true, workers }), targets, [N, T, K], masked, N);
    const [bce] = await whole('binaryCrossentropy', []);
    const [, here] = await whole('mse', ['binaryCrossentropy']);
    const [, there] = await whole('mse', ['binaryCrossentropy'], 2);
    const batched = build('mse', ['binaryCrossentropy'], { masked: true });
    const [, inBatches] = await evaluate(batched, targets, [N, T, K], masked);
    expect(inBatches).toBeCloseTo(here as number, 9);
    expect(here).toBeCloseTo(bce as number, 6);
    expect(there).toBeCloseTo(here as number, 9);
  });

  it('name the metric whose targets do not fit', async () => {
    const m = build('meanSquaredError', ['sparseCategoricalCrossentropy']);
    await expect(evaluate(m, oneHot, [N, K])).rejects.toThrow(
      'metric sparseCategoricalCrossentropy: loss: `targets` has 15 floats, expected 5',
    );
  });
});
