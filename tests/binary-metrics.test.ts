/**
 * Precision, recall (Keras' `Precision()` and `Recall()`, threshold 0.5) and
 * AUC (Keras' `AUC()`: ROC, 200 thresholds, trapezoids): exact values pooled
 * over an epoch's batches (Keras' metrics are stateful, not means of batch
 * values); masked steps left out; precision and recall against
 * TensorFlow.js' `tf.metrics.precision`/`recall` on a GRU's thresholded
 * predictions, AUC against the pairwise (Mann–Whitney) area where the
 * predictions fall between distinct thresholds; the same on workers, in
 * fit's logs and history.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import * as gw from '../ts/index.js';
import { randomUniform } from './support/random.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
  await gw.ready();
});

/** A model whose predictions are its inputs: Dense(1) with weight 1, bias 0. */
function identity(inputShape: (number | null)[], masked = false): gw.Sequential {
  const m = gw.sequential();
  if (masked) m.add(gw.layers.masking({ maskValue: -1, inputShape }));
  m.add(gw.layers.dense({ units: 1, ...(masked ? {} : { inputShape }) }));
  m.setWeights([gw.tensor([1], [1, 1]), gw.tensor([0], [1])]);
  m.compile({
    optimizer: 'sgd',
    loss: 'meanSquaredError',
    metrics: ['precision', 'recall', 'accuracy', 'auc'],
  });
  return m;
}

/** The share of (positive, negative) pairs the predictions order correctly, ties half. */
function pairwiseAuc(predictions: ArrayLike<number>, targets: ArrayLike<number>): number {
  let [ordered, pairs] = [0, 0];
  for (let i = 0; i < predictions.length; i++) {
    if (targets[i] === 0) continue;
    for (let j = 0; j < predictions.length; j++) {
      if (targets[j] !== 0) continue;
      const [p, q] = [predictions[i] as number, predictions[j] as number];
      ordered += p > q ? 1 : p === q ? 0.5 : 0;
      pairs += 1;
    }
  }
  return ordered / pairs;
}

describe('precision, recall and AUC', () => {
  it('pool true and predicted positives over the batches, as Keras’ stateful metrics do', async () => {
    // Batches of 3: [tp, fp, tn] [fn, tp, tp] [fp]. A prediction of exactly
    // 0.5 is negative (Keras compares with >).
    const predictions = [0.9, 0.7, 0.2, 0.5, 0.6, 0.99, 0.8];
    const targets = [1, 0, 0, 1, 1, 1, 0];
    const m = identity([1]);
    const [loss, precision, recall, accuracy, auc] = (await m.evaluate(
      gw.tensor(predictions, [7, 1]),
      gw.tensor(targets, [7, 1]),
      { batchSize: 3 },
    )) as number[];
    // True positives 3, predicted positives 5, actual positives 4; the mean
    // of the batches' precisions would be (1/2 + 1 + 0) / 3 instead.
    expect(precision).toBeCloseTo(3 / 5, 7);
    expect(recall).toBeCloseTo(3 / 4, 7);
    expect(accuracy).toBeCloseTo(4 / 7, 7);
    expect(auc).toBeCloseTo(pairwiseAuc(predictions, targets), 7);
    expect(loss).toBeGreaterThan(0);
    m.dispose();
  });

  it('leave masked steps out, and count every output value', async () => {
    // Two sequences of 3 steps, the last step of the second padded (-1),
    // its target 1: counted, it would lower recall.
    const x = [0.9, 0.1, 0.8, 0.7, 0.3, -1];
    const y = [1, 1, 0, 1, 0, 1];
    const m = identity([3, 1], true);
    const [, precision, recall] = (await m.evaluate(
      gw.tensor(x, [2, 3, 1]),
      gw.tensor(y, [2, 3, 1]),
    )) as number[];
    // Unpadded: tp 2 (0.9, 0.7), predicted positives 3 (+0.8), actual 3 (+0.1).
    expect(precision).toBeCloseTo(2 / 3, 7);
    expect(recall).toBeCloseTo(2 / 3, 7);
    m.dispose();
  });

  it('agree with TensorFlow.js’ on a GRU’s thresholded predictions, here and on workers', async () => {
    const [N, T, F] = [40, 6, 3];
    const xs = randomUniform(8, N * T * F, -2, 2);
    const ys = Float32Array.from({ length: N }, (_, n) => ((n * 7) % 5 < 2 ? 1 : 0));
    const build = (workers: number) => {
      gw.setRandomSeed(31);
      const m = gw.sequential();
      m.add(gw.layers.gru({ units: 4, inputShape: [T, F] }));
      m.add(gw.layers.dense({ units: 1, activation: 'sigmoid', biasInitializer: 'zeros' }));
      m.compile({
        optimizer: 'sgd',
        loss: 'binaryCrossentropy',
        metrics: ['precision', 'recall', 'auc'],
        workers,
      });
      return m;
    };
    const here = build(0);
    const [x, y] = [gw.tensor(xs, [N, T, F]), gw.tensor(ys, [N, 1])];
    const predicted = (await here.predict(x)).dataSync();
    const [theirPrecision, theirRecall] = tf.tidy(() => {
      const [yTrue, yPred] = [tf.tensor2d(ys, [N, 1]), tf.tensor2d(predicted, [N, 1])];
      const positive = tf.cast(tf.greater(yPred, 0.5), 'float32');
      return [tf.metrics.precision(yTrue, positive), tf.metrics.recall(yTrue, positive)].map(
        (t) => t.dataSync()[0] as number,
      );
    });
    // Both strictly between 0 and 1: the comparison can tell them apart.
    for (const value of [theirPrecision, theirRecall]) {
      expect(value).toBeGreaterThan(0);
      expect(value).toBeLessThan(1);
    }
    const aucs: number[] = [];
    for (const batchSize of [N, 7]) {
      const [, precision, recall, auc] = (await here.evaluate(x, y, { batchSize })) as number[];
      expect(precision).toBeCloseTo(theirPrecision as number, 6);
      expect(recall).toBeCloseTo(theirRecall as number, 6);
      aucs.push(auc as number);
    }
    const there = build(2);
    const [, precision, recall, auc] = (await there.evaluate(x, y, { batchSize: 16 })) as number[];
    expect(precision).toBeCloseTo(theirPrecision as number, 6);
    expect(recall).toBeCloseTo(theirRecall as number, 6);
    aucs.push(auc as number);
    // Its counts add up alike however the samples are split; within a
    // bucket's width of the exact pairwise area.
    for (const value of aucs) expect(value).toBeCloseTo(aucs[0] as number, 12);
    expect(Math.abs((aucs[0] as number) - pairwiseAuc(predicted, ys))).toBeLessThan(0.02);

    const history = await here.fit(x, y, { epochs: 2, batchSize: 8, verbose: 0 });
    expect(Object.keys(history.history).sort()).toEqual(['auc', 'loss', 'precision', 'recall']);
    for (const value of [...(history.history.precision ?? []), ...(history.history.recall ?? [])]) {
      expect(value).toBeGreaterThanOrEqual(0);
      expect(value).toBeLessThanOrEqual(1);
    }
    here.dispose();
    there.dispose();
  });

  it('count an AUC pair that falls between the same two thresholds as half', async () => {
    // 0.501 and 0.502 both lie between thresholds 99/199 and 100/199: the
    // curve cannot order them (pairwise on the raw values: 0).
    const m = identity([1]);
    const [, , , , auc] = (await m.evaluate(
      gw.tensor([0.501, 0.502, 0.1], [3, 1]),
      gw.tensor([1, 0, 0], [3, 1]),
    )) as number[];
    expect(auc).toBeCloseTo((0.5 + 1) / 2, 7);
    m.dispose();
  });

  it('are named in the error for an unknown metric', () => {
    const m = gw.sequential();
    m.add(gw.layers.dense({ units: 1, inputShape: [2] }));
    expect(() => m.compile({ optimizer: 'sgd', loss: 'mse', metrics: ['f1'] })).toThrow(
      /unknown metric 'f1' \(expected accuracy, .*precision, recall, auc, topKCategoricalAccuracy, sparseTopKCategoricalAccuracy, binaryCrossentropy, /,
    );
    m.dispose();
  });
});
