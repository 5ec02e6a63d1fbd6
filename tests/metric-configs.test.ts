/**
 * Metrics with arguments (`gw.metrics.*`, Keras' metric objects): precision
 * and recall at another threshold against TensorFlow.js on thresholded
 * values, AUC at another number of thresholds against the pairwise area,
 * the precision–recall AUC against its integral worked by hand, top-k
 * accuracy by its definition; names in logs, data-parallel workers, and
 * what is refused.
 */
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as gw from '../ts/index.js';
import { randomUniform } from './support/random.js';

const models: gw.Sequential[] = [];

beforeAll(async () => {
  await tf.setBackend('cpu');
  await gw.ready();
});

afterAll(() => {
  for (const m of models) m.dispose();
});

/** A model whose predictions are its inputs (Dense with an identity kernel), compiled with `metrics`. */
function identity(width: number, metrics: gw.MetricSpec[], workers = 0): gw.Sequential {
  const m = gw.sequential();
  m.add(gw.layers.dense({ units: width, inputShape: [width] }));
  const eye = Float32Array.from({ length: width * width }, (_, i) => (i % (width + 1) === 0 ? 1 : 0));
  m.setWeights([gw.tensor(eye, [width, width]), gw.tensor(new Float32Array(width), [width])]);
  m.compile({ optimizer: 'sgd', loss: 'meanSquaredError', metrics, workers });
  models.push(m);
  return m;
}

async function evaluate(
  m: gw.Sequential,
  predictions: number[],
  targets: number[],
  width = 1,
  batchSize = 32,
) {
  const rows = predictions.length / width;
  const targetShape = targets.length === rows && width > 1 ? [rows] : [rows, width];
  const [x, y] = [gw.tensor(predictions, [rows, width]), gw.tensor(targets, targetShape)];
  const values = (await m.evaluate(x, y, { batchSize })) as number[];
  x.dispose();
  y.dispose();
  return values.slice(1);
}

describe('metrics with arguments', () => {
  it('precision and recall at another threshold, as TensorFlow.js counts thresholded values', async () => {
    const predictions = Array.from(randomUniform(1, 40, 0, 1));
    const targets = predictions.map((_, i) => (i % 3 === 0 ? 1 : 0));
    const m = identity(1, [gw.metrics.precision({ threshold: 0.7 }), gw.metrics.recall({ threshold: 0.7 })]);
    const [precision, recall] = await evaluate(m, predictions, targets, 1, 7);
    const [yTrue, yPred] = [tf.tensor(targets), tf.tensor(predictions.map((p) => (p > 0.7 ? 1 : 0)))];
    expect(precision).toBeCloseTo(tf.metrics.precision(yTrue, yPred).dataSync()[0] as number, 6);
    expect(recall).toBeCloseTo(tf.metrics.recall(yTrue, yPred).dataSync()[0] as number, 6);
    // At 0.5 they differ: the threshold is used.
    const [atHalf] = await evaluate(identity(1, ['precision']), predictions, targets);
    expect(atHalf).not.toBeCloseTo(precision as number, 3);
  });

  it('ROC AUC at another number of thresholds: the pairwise area where predictions fall between them', async () => {
    // Predictions at the middles of 999 buckets: no two share one.
    const count = 1000;
    const buckets = Array.from(randomUniform(2, 60, 0, count - 1), (v) => Math.floor(v));
    const predictions = buckets.map((b) => (b + 0.5) / (count - 1));
    const targets = predictions.map((p, i) => (p + 0.3 * Math.sin(i) > 0.5 ? 1 : 0));
    let [ordered, pairs] = [0, 0];
    predictions.forEach((p, i) => {
      predictions.forEach((q, j) => {
        if (targets[i] === 1 && targets[j] === 0) {
          ordered += p > q ? 1 : p === q ? 0.5 : 0;
          pairs += 1;
        }
      });
    });
    const [auc] = await evaluate(
      identity(1, [gw.metrics.auc({ numThresholds: count })]),
      predictions,
      targets,
      1,
      16,
    );
    expect(auc).toBeCloseTo(ordered / pairs, 9);
  });

  it('PR AUC: Keras’ interpolation, whose integral is worked here by hand', async () => {
    const pr = [gw.metrics.auc({ curve: 'PR', numThresholds: 3, name: 'pr' })];
    // Thresholds −ε, 0.5, 1 + ε. Positives at 0.9 and 0.3, a negative at
    // 0.6. Recall 0 → ½ (above 0.5: tp 1, fp 1) at precision ½: ¼. Recall
    // ½ → 1 (tp 1 → 2 with one false positive all along): precision
    // tp/(tp + 1), ∫ over recall tp/2 = ½(1 − ln 3/2).
    const [area] = await evaluate(identity(1, pr), [0.9, 0.3, 0.6], [1, 1, 0]);
    expect(area).toBeCloseTo(0.25 + 0.5 * (1 - Math.log(1.5)), 7);
    // A perfect ranking has area 1; predictions all alike, the positives' share.
    const [perfect] = await evaluate(identity(1, pr), [0.9, 0.8, 0.2, 0.1], [1, 1, 0, 0]);
    expect(perfect).toBeCloseTo(1, 7);
    const [flat] = await evaluate(identity(1, pr), [0.7, 0.7, 0.7, 0.7, 0.7], [1, 0, 0, 1, 0]);
    expect(flat).toBeCloseTo(0.4, 7);
  });

  it('top-k accuracy: the target among the k highest predictions, ties at the k-th place in', async () => {
    // Rows of 4 classes; the target's class marked.
    const predictions = [0.1, 0.4, 0.3, 0.2, 0.5, 0.1, 0.2, 0.2, 0.25, 0.25, 0.25, 0.25, 0.7, 0.2, 0.1, 0.1];
    const labels = [2, 2, 3, 3];
    // Classes scoring above the target's: 1, 1 (the other 0.2 ties, not above), 0, 2.
    const oneHot = labels.flatMap((label) => [0, 1, 2, 3].map((j) => (j === label ? 1 : 0)));
    const specs = [
      gw.metrics.topKCategoricalAccuracy({ k: 2 }),
      gw.metrics.topKCategoricalAccuracy({ k: 1, name: 'top1' }),
    ];
    const [top2, top1] = await evaluate(identity(4, specs), predictions, oneHot, 4);
    expect(top2).toBeCloseTo(3 / 4, 9);
    expect(top1).toBeCloseTo(1 / 4, 9);
    const sparse = [
      gw.metrics.sparseTopKCategoricalAccuracy({ k: 2, name: 'top2' }),
      'sparseTopKCategoricalAccuracy',
    ];
    const m = gw.sequential();
    m.add(gw.layers.dense({ units: 4, inputShape: [4] }));
    const eye = Float32Array.from({ length: 16 }, (_, i) => (i % 5 === 0 ? 1 : 0));
    m.setWeights([gw.tensor(eye, [4, 4]), gw.tensor(new Float32Array(4), [4])]);
    m.compile({ optimizer: 'sgd', loss: 'sparseCategoricalCrossentropy', metrics: sparse });
    models.push(m);
    const [sparseTop2, top5] = await evaluate(m, predictions, labels, 4);
    expect(sparseTop2).toBeCloseTo(3 / 4, 9);
    expect(top5).toBe(1);
  });

  it('reports under their names in fit, alike on data-parallel workers', async () => {
    const specs = [gw.metrics.auc({ curve: 'PR', name: 'pr_auc' }), gw.metrics.precision({ threshold: 0.3 })];
    const x = randomUniform(3, 64 * 2, -1, 1);
    const y = Float32Array.from({ length: 64 * 2 }, (_, i) => ((x[i] as number) > 0.2 ? 1 : 0));
    const histories = [];
    for (const workers of [0, 2]) {
      const m = identity(2, specs, workers);
      histories.push(
        await m.fit(gw.tensor(x, [64, 2]), gw.tensor(y, [64, 2]), {
          epochs: 1,
          batchSize: 16,
          shuffle: false,
          verbose: 0,
        }),
      );
    }
    const [here, there] = histories as [gw.History, gw.History];
    expect(Object.keys(here.history).sort()).toEqual(['loss', 'pr_auc', 'precision']);
    for (const key of ['pr_auc', 'precision']) {
      expect(there.history[key]?.[0]).toBeCloseTo(here.history[key]?.[0] as number, 9);
    }
  });

  it('names what it refuses', () => {
    const compile = (metrics: gw.MetricSpec[]) => () => identity(1, metrics);
    expect(compile(['auc', gw.metrics.auc({ curve: 'PR' })])).toThrow(
      "compile: two metrics report as 'auc': give one a name",
    );
    expect(compile(['constructor'])).toThrow("unknown metric 'constructor'");
    expect(compile([gw.metrics.auc({ numThresholds: 1 })])).toThrow(
      'metric auc: numThresholds must be an integer of at least 2, got 1',
    );
    expect(compile([gw.metrics.auc({ curve: 'DET' as 'PR' })])).toThrow(
      'metric auc: curve must be ROC or PR, got DET',
    );
    expect(compile([gw.metrics.recall({ threshold: 2 })])).toThrow(
      'metric recall: threshold must be in [0, 1], got 2',
    );
    expect(compile([gw.metrics.topKCategoricalAccuracy({ k: 0 })])).toThrow(
      'metric topKCategoricalAccuracy: k must be an integer of at least 1, got 0',
    );
  });
});
