/**
 * The Embedding layer against TensorFlow.js on identical weights: lookups,
 * `maskZero` padding through a GRU, the table's gradient (repeated ids sum),
 * save and load both ways, workers, and the errors naming a bad id.
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

const [N, T, V, D, H, C] = [8, 7, 11, 4, 6, 3];
const dir = mkdtempSync(join(tmpdir(), 'gru-wasm-embedding-'));

beforeAll(async () => {
  await tf.setBackend('cpu');
  await gw.ready();
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** Ids in `1 .. V−1`, each sequence padded with 0 after a length of its own (at least 2 steps). */
function ids(steps = T, seed = 1): Float32Array {
  const u = randomUniform(seed, N * steps, 0, 1);
  const out = new Float32Array(N * steps);
  for (let n = 0; n < N; n++) {
    const length = 2 + (n % (steps - 1));
    for (let t = 0; t < length; t++)
      out[n * steps + t] = 1 + Math.floor((u[n * steps + t] as number) * (V - 1));
  }
  return out;
}

const labels = (seed: number) => Float32Array.from(randomUniform(seed, N, 0, 1), (v) => Math.floor(v * C));

function ours(workers = 0): gw.Sequential {
  gw.setRandomSeed(4);
  const m = gw.sequential();
  m.add(gw.layers.embedding({ inputDim: V, outputDim: D, maskZero: true, inputShape: [null] }));
  m.add(gw.layers.gru({ units: H }));
  m.add(gw.layers.dense({ units: C, activation: 'softmax' }));
  m.compile({ optimizer: 'sgd', loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'], workers });
  return m;
}

function theirs(weights: gw.Tensor[]): tf.Sequential {
  const m = tf.sequential();
  m.add(tf.layers.embedding({ inputDim: V, outputDim: D, maskZero: true, inputShape: [null] }));
  m.add(tf.layers.gru({ units: H, recurrentActivation: 'sigmoid' }));
  m.add(tf.layers.dense({ units: C, activation: 'softmax' }));
  m.compile({ optimizer: 'sgd', loss: 'sparseCategoricalCrossentropy' });
  m.setWeights(weights.map((w) => tf.tensor(w.dataSync(), [...w.shape])));
  return m;
}

describe('embedding', () => {
  it('has Keras’ weights and default initializer', () => {
    const m = ours();
    const [table] = m.getWeights();
    expect(table?.shape).toEqual([V, D]);
    expect(Array.from(table?.dataSync() ?? []).every((v) => Math.abs(v) <= 0.05)).toBe(true);
    expect(m.layers[0]?.weights().map((w) => w.name)).toEqual([`${m.layers[0]?.name}/embeddings`]);
    expect(m.outputShape).toEqual([C]);
    expect(m.countParams()).toBe(V * D + (D + H) * 3 * H + 3 * H + (H + 1) * C);
    m.dispose();
  });

  it('predicts and trains as TensorFlow.js does, padding (id 0) masked', async () => {
    const m = ours();
    for (const [i, steps] of [T, 4].entries()) {
      const reference = theirs(m.getWeights());
      const x = ids(steps, 10 + i);
      const y = labels(20 + i);
      const predicted = (await m.predict(gw.tensor(x, [N, steps]))).dataSync();
      const expected = (reference.predict(tf.tensor2d(x, [N, steps])) as tf.Tensor).dataSync();
      expect(maxAbsDiff(predicted, expected)).toBeLessThan(2e-6);
      const loss = await m.trainOnBatch(gw.tensor(x, [N, steps]), gw.tensor(y, [N, 1]));
      const theirLoss = (await reference.trainOnBatch(
        tf.tensor2d(x, [N, steps]),
        tf.tensor2d(y, [N, 1]),
      )) as number;
      expect(Math.abs(loss - theirLoss)).toBeLessThan(1e-6);
      // One SGD step from the same weights: the same table, rows of ids
      // seen several times summed, rows of ids not seen unchanged.
      expect(maxAbsDiff(flatWeights(m), flatWeights(reference))).toBeLessThan(1e-6);
    }
    // Padding changes nothing: a sequence predicts the same with more zeros after it.
    const x = ids(T, 30);
    const longer = new Float32Array(N * (T + 3));
    for (let n = 0; n < N; n++) longer.set(x.subarray(n * T, (n + 1) * T), n * (T + 3));
    const short = (await m.predict(gw.tensor(x, [N, T]))).dataSync();
    expect((await m.predict(gw.tensor(longer, [N, T + 3]))).dataSync()).toEqual(short);
    m.dispose();
  });

  it('saves and loads both ways with TensorFlow.js', async () => {
    const m = ours();
    const x = ids(T, 40);
    const expected = (await m.predict(gw.tensor(x, [N, T]))).dataSync();
    await m.save(join(dir, 'ours'));
    const { model: loadedByThem, json } = await loadIntoTfjs(join(dir, 'ours'));
    expect(json.modelTopology.config.layers[0]).toMatchObject({
      class_name: 'Embedding',
      config: { input_dim: V, output_dim: D, mask_zero: true, batch_input_shape: [null, null] },
    });
    expect(
      maxAbsDiff((loadedByThem.predict(tf.tensor2d(x, [N, T])) as tf.Tensor).dataSync(), expected),
    ).toBeLessThan(2e-6);
    expect((await (await gw.loadModel(join(dir, 'ours'))).predict(gw.tensor(x, [N, T]))).dataSync()).toEqual(
      expected,
    );

    // Theirs, with a fixed input length, saved as TensorFlow.js writes it.
    const made = tf.sequential();
    made.add(tf.layers.embedding({ inputDim: V, outputDim: D, inputLength: T }));
    made.add(tf.layers.gru({ units: H, returnSequences: true, recurrentActivation: 'sigmoid' }));
    made.add(tf.layers.dense({ units: 1 }));
    await saveTfjsModel(made, join(dir, 'theirs'));
    const loaded = await gw.loadModel(join(dir, 'theirs'));
    expect(loaded.inputShape).toEqual([T]);
    const theirPrediction = (made.predict(tf.tensor2d(x, [N, T])) as tf.Tensor).dataSync();
    expect(maxAbsDiff((await loaded.predict(gw.tensor(x, [N, T]))).dataSync(), theirPrediction)).toBeLessThan(
      2e-6,
    );
    m.dispose();
    loaded.dispose();
  });

  it('trains on workers as on this thread', async () => {
    const here = ours();
    const there = ours(2);
    for (const [i, steps] of [T, 5].entries()) {
      const x = gw.tensor(ids(steps, 50 + i), [N, steps]);
      const y = gw.tensor(labels(60 + i), [N, 1]);
      const loss = await here.trainOnBatch(x, y);
      expect(Math.abs((await within(there.trainOnBatch(x, y), 'train on workers')) - loss)).toBeLessThan(
        1e-6,
      );
    }
    expect(maxAbsDiff(flatWeights(there), flatWeights(here))).toBeLessThan(1e-6);
    here.dispose();
    await there.dispose();
  });

  it('names an id that is not an integer in range, and arguments that make no layer', async () => {
    const m = ours();
    for (const [bad, shown] of [
      [V, String(V)],
      [-1, '-1'],
      [2.5, '2.5'],
    ] as const) {
      const x = ids(T, 70);
      x[3] = bad;
      await expect(m.predict(gw.tensor(x, [N, T]))).rejects.toThrow(
        `embedding_forward: id ${shown} at position 3 is not an integer in [0, ${V})`,
      );
    }
    // The model is still usable.
    expect((await m.predict(gw.tensor(ids(T, 71), [N, T]))).shape).toEqual([N, C]);
    expect(() => gw.layers.embedding({ inputDim: 0, outputDim: 2 })).toThrow(
      'embedding: `inputDim` must be a positive integer, got 0',
    );
    expect(() =>
      gw.sequential().add(gw.layers.embedding({ inputDim: 3, outputDim: 2, inputShape: [4, 2] })),
    ).toThrow(/embedding embedding(_\d+)?: expects samples of shape \[steps\], got \[4, 2\]/);
    m.dispose();
  });
});
