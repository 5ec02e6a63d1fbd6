/**
 * Models declared for sequences of any length (`inputShape: [null, I]`,
 * Keras' `None` time axis): each call takes its data's number of steps, on
 * this thread, on workers and in an inference pool, against TensorFlow.js
 * on identical weights; saved and loaded with the `null` kept; and the
 * errors that name a malformed declaration.
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
import { within } from './support/within.js';

const [N, I, H] = [6, 3, 5];
const dir = mkdtempSync(join(tmpdir(), 'gru-wasm-steps-'));

beforeAll(async () => {
  await tf.setBackend('cpu');
  await gw.ready();
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

const inputs = (steps: number, seed: number, rows = N) => randomUniform(seed, rows * steps * I);
const targets = (seed: number) => randomUniform(seed, N);

/** GRU (sequences) → GRU → Dense(1), for any number of steps. */
function model(workers = 0): gw.Sequential {
  gw.setRandomSeed(11);
  const m = gw.sequential();
  m.add(gw.layers.gru({ units: H, returnSequences: true, inputShape: [null, I] }));
  m.add(gw.layers.gru({ units: H, goBackwards: true }));
  m.add(gw.layers.dense({ units: 1 }));
  m.compile({ optimizer: gw.optimizers.adam({ learningRate: 0.01 }), loss: 'meanSquaredError', workers });
  return m;
}

describe('a model for sequences of any length', () => {
  it('predicts and trains on each call’s length as TensorFlow.js does', async () => {
    const ours = model();
    expect(ours.inputShape).toEqual([null, I]);
    expect(ours.outputShape).toEqual([1]);
    expect(ours.summary(() => {})).toContain('[null, null, 5]');
    const theirs = tf.sequential();
    theirs.add(
      tf.layers.gru({
        units: H,
        returnSequences: true,
        inputShape: [null, I],
        recurrentActivation: 'sigmoid',
      }),
    );
    theirs.add(tf.layers.gru({ units: H, goBackwards: true, recurrentActivation: 'sigmoid' }));
    theirs.add(tf.layers.dense({ units: 1 }));
    theirs.compile({ optimizer: tf.train.adam(0.01), loss: 'meanSquaredError' });

    // Lengths up and down, each a training step after a prediction, from
    // the same weights (the two's updates round apart over the steps).
    for (const [i, steps] of [4, 9, 2, 9].entries()) {
      theirs.setWeights(ours.getWeights().map((w) => tf.tensor(w.dataSync(), [...w.shape])));
      const x = inputs(steps, 20 + i);
      const predicted = await ours.predict(gw.tensor(x, [N, steps, I]));
      expect(predicted.shape).toEqual([N, 1]);
      const expected = (theirs.predict(tf.tensor3d(x, [N, steps, I])) as tf.Tensor).dataSync();
      expect(maxAbsDiff(predicted.dataSync(), expected)).toBeLessThan(2e-5);
      const y = targets(40 + i);
      const loss = await ours.trainOnBatch(gw.tensor(x, [N, steps, I]), gw.tensor(y, [N, 1]));
      const theirLoss = (await theirs.trainOnBatch(
        tf.tensor3d(x, [N, steps, I]),
        tf.tensor2d(y, [N, 1]),
      )) as number;
      expect(Math.abs(loss - theirLoss)).toBeLessThan(1e-4 * Math.max(1, Math.abs(theirLoss)));
    }
    ours.dispose();
  });

  it('runs a bidirectional GRU, and its input gradient, at each call’s length', async () => {
    gw.setRandomSeed(9);
    const ours = gw.sequential();
    const inner = gw.layers.gru({ units: H, returnSequences: true });
    // Not first, so that its input gradient is computed (masking nothing: no input is 7).
    ours.add(gw.layers.masking({ maskValue: 7, inputShape: [null, I] }));
    ours.add(gw.layers.bidirectional({ layer: inner, mergeMode: 'concat' }));
    ours.add(gw.layers.gru({ units: H }));
    ours.add(gw.layers.dense({ units: 1 }));
    ours.compile({ optimizer: 'sgd', loss: 'meanSquaredError' });
    const theirs = tf.sequential();
    const theirInner = tf.layers.gru({ units: H, returnSequences: true, recurrentActivation: 'sigmoid' });
    theirs.add(tf.layers.masking({ maskValue: 7, inputShape: [null, I] }));
    theirs.add(tf.layers.bidirectional({ layer: theirInner as tf.layers.RNN, mergeMode: 'concat' }));
    theirs.add(tf.layers.gru({ units: H, recurrentActivation: 'sigmoid' }));
    theirs.add(tf.layers.dense({ units: 1 }));
    theirs.compile({ optimizer: 'sgd', loss: 'meanSquaredError' });
    for (const [i, steps] of [3, 8].entries()) {
      theirs.setWeights(ours.getWeights().map((w) => tf.tensor(w.dataSync(), [...w.shape])));
      const x = inputs(steps, 30 + i);
      const y = targets(50 + i);
      const loss = await ours.trainOnBatch(gw.tensor(x, [N, steps, I]), gw.tensor(y, [N, 1]));
      const theirLoss = (await theirs.trainOnBatch(
        tf.tensor3d(x, [N, steps, I]),
        tf.tensor2d(y, [N, 1]),
      )) as number;
      expect(Math.abs(loss - theirLoss)).toBeLessThan(1e-5);
      // After one SGD step from the same weights, the same weights.
      const after = theirs.getWeights().flatMap((w) => [...w.dataSync()]);
      expect(
        maxAbsDiff(
          ours.getWeights().flatMap((w) => [...w.dataSync()]),
          after,
        ),
      ).toBeLessThan(1e-5);
    }
    ours.dispose();
  });

  it('returns sequences of the input’s length, and fits and evaluates on them', async () => {
    gw.setRandomSeed(5);
    const m = gw.sequential();
    m.add(gw.layers.masking({ maskValue: 0, inputShape: [null, I] }));
    m.add(gw.layers.gru({ units: H, returnSequences: true }));
    m.add(gw.layers.dense({ units: 2, activation: 'softmax' }));
    m.compile({ optimizer: 'adam', loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
    expect(m.outputShape).toEqual([null, 2]);
    for (const steps of [3, 8]) {
      const x = gw.tensor(inputs(steps, steps), [N, steps, I]);
      const labels = Float32Array.from({ length: N * steps }, (_, i) => i % 2);
      const y = gw.tensor(labels, [N, steps]);
      const history = await m.fit(x, y, { epochs: 2, batchSize: 4, verbose: 0 });
      expect(history.history.loss).toHaveLength(2);
      const [loss, accuracy] = (await m.evaluate(x, y)) as number[];
      expect(Number.isFinite(loss)).toBe(true);
      expect(accuracy).toBeGreaterThanOrEqual(0);
      expect((await m.predict(x)).shape).toEqual([N, steps, 2]);
      // Per-step sample weights follow the call's length too.
      const weights = gw.tensor(new Float32Array(N * steps).fill(1), [N, steps]);
      await m.fit(x, y, { epochs: 1, verbose: 0, sampleWeight: weights });
      await expect(
        m.fit(x, y, { epochs: 1, verbose: 0, sampleWeight: gw.tensor(new Float32Array(N * 2), [N, 2]) }),
      ).rejects.toThrow(`fit: sampleWeight must have shape [${N}] or [${N}, ${steps}], got [${N}, 2]`);
    }
    m.dispose();
  });

  it('saves with a null time axis, which gru-wasm and TensorFlow.js load back', async () => {
    const ours = model();
    await ours.save(join(dir, 'any-length'));
    const { model: theirs, json } = await loadIntoTfjs(join(dir, 'any-length'));
    expect(json.modelTopology.config.layers[0]?.config.batch_input_shape).toEqual([null, null, I]);
    const loaded = await gw.loadModel(join(dir, 'any-length'));
    expect(loaded.inputShape).toEqual([null, I]);
    for (const steps of [7, 1]) {
      const x = inputs(steps, steps);
      const expected = (await ours.predict(gw.tensor(x, [N, steps, I]))).dataSync();
      expect((await loaded.predict(gw.tensor(x, [N, steps, I]))).dataSync()).toEqual(expected);
      const theirPrediction = (theirs.predict(tf.tensor3d(x, [N, steps, I])) as tf.Tensor).dataSync();
      expect(maxAbsDiff(theirPrediction, expected)).toBeLessThan(2e-5);
    }
    ours.dispose();
    loaded.dispose();
  });

  it('loads a Keras model whose input layer has a None time axis', async () => {
    const theirs = tf.sequential();
    theirs.add(tf.layers.inputLayer({ batchInputShape: [null, null, I] }));
    theirs.add(tf.layers.gru({ units: H, recurrentActivation: 'sigmoid' }));
    theirs.add(tf.layers.dense({ units: 1 }));
    await saveTfjsModel(theirs, join(dir, 'keras-none'));
    const loaded = await gw.loadModel(join(dir, 'keras-none'));
    expect(loaded.inputShape).toEqual([null, I]);
    const x = inputs(6, 3);
    const expected = (theirs.predict(tf.tensor3d(x, [N, 6, I])) as tf.Tensor).dataSync();
    expect(maxAbsDiff((await loaded.predict(gw.tensor(x, [N, 6, I]))).dataSync(), expected)).toBeLessThan(
      2e-5,
    );
    loaded.dispose();
  });

  it('takes each call’s length on workers: split by rows, split by units, and trained', async () => {
    const here = model();
    const there = model(2);
    const parallel = await there.workers();
    if (parallel) parallel.predictHereBelowFlop = 0;
    for (const [i, steps] of [5, 12].entries()) {
      // 6 rows split by rows; 1 row split by units.
      for (const rows of [N, 1]) {
        const x = gw.tensor(inputs(steps, 60 + i, rows), [rows, steps, I]);
        const expected = (await here.predict(x)).dataSync();
        const got = await within(there.predict(x), `predict ${rows} rows of ${steps} steps`);
        expect(maxAbsDiff(got.dataSync(), expected)).toBeLessThan(1e-6);
      }
      const x = gw.tensor(inputs(steps, 70 + i), [N, steps, I]);
      const y = gw.tensor(targets(80 + i), [N, 1]);
      const loss = await here.trainOnBatch(x, y);
      const workerLoss = await within(there.trainOnBatch(x, y), `train on ${steps} steps`);
      expect(Math.abs(workerLoss - loss)).toBeLessThan(1e-5);
    }
    expect(maxAbsDiff(flatWeights(there), flatWeights(here))).toBeLessThan(1e-5);
    here.dispose();
    await there.dispose();
  });

  it.each(['shared', 'copied'] as const)(
    'is served by an inference pool (memory %s), each call at its own length',
    async (memory) => {
      const m = model();
      const pool = await within(gw.createInferencePool(m, { size: 2, memory }), 'create');
      const xs = [3, 10, 1].map((steps, i) => gw.tensor(inputs(steps, 90 + i), [N, steps, I]));
      const expected = await Promise.all(xs.map((x) => m.predict(x)));
      const got = await within(Promise.all(xs.map((x) => pool.predict(x))), 'predict');
      for (const [i, e] of expected.entries()) expect(got[i]?.dataSync()).toEqual(e.dataSync());
      await pool.dispose();
      m.dispose();
    },
  );

  it('fits in a hosting worker (no shared memory) as it fits here', async () => {
    const simd = await gw.Kernel.load('simd');
    const build = (workers: number) => {
      gw.setRandomSeed(13);
      const m = new gw.Sequential(simd);
      m.add(gw.layers.gru({ units: H, inputShape: [null, I] }));
      m.add(gw.layers.dense({ units: 1 }));
      m.compile({ optimizer: 'adam', loss: 'meanSquaredError', workers });
      return m;
    };
    const x = gw.tensor(inputs(7, 5), [N, 7, I], { kernel: simd });
    const y = gw.tensor(targets(6), [N, 1], { kernel: simd });
    const local = build(0);
    const here = await local.fit(x, y, { epochs: 3, batchSize: 4, verbose: 0, seed: 1 });
    local.dispose();
    const hosted = build(2);
    const there = await within(
      hosted.fit(x, y, { epochs: 3, batchSize: 4, verbose: 0, seed: 1 }),
      'hosted fit',
    );
    expect(there.history.loss).toEqual(here.history.loss);
    hosted.dispose();
  });

  it('names what is wrong', async () => {
    expect(() => gw.layers.gru({ units: 2, inputShape: [4, null] })).toThrow(
      /^gru gru(_\d+)?: inputShape \[4, null\] must have positive integer dimensions, of which only the first \(time steps\) may be null$/,
    );
    expect(() => gw.layers.masking({ inputShape: [3, null, 2] })).toThrow(
      'inputShape [3, null, 2] must have positive integer dimensions, of which only the first (time steps) may be null',
    );
    expect(() =>
      gw.sequential().add(gw.layers.dense({ units: 2, name: 'unknown_features', inputShape: [null] })),
    ).toThrow('dense unknown_features: expects samples of rank 1 or 2 with a known feature axis, got [null]');
    const m = model();
    await expect(m.predict(gw.tensor(new Float32Array(N * 4 * 2), [N, 4, 2]))).rejects.toThrow(
      `predict: x must have shape [samples, null, ${I}], got [${N}, 4, 2]`,
    );
    await expect(m.predict(gw.tensor(new Float32Array(0), [N, 0, I]))).rejects.toThrow(
      'predict: x has sequences of no steps',
    );
    m.dispose();
  });
});
