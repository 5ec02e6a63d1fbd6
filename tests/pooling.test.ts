/**
 * Global average and max pooling over steps: against TensorFlow.js on
 * identical weights (forward, input gradient through a weight update,
 * files both ways), and masked steps left out of both.
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

const [N, T, I, H] = [5, 6, 3, 4];
const dir = mkdtempSync(join(tmpdir(), 'gru-wasm-pooling-'));

beforeAll(async () => {
  await tf.setBackend('cpu');
  await gw.ready();
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

const kinds = [
  ['average', gw.layers.globalAveragePooling1d, tf.layers.globalAveragePooling1d],
  ['max', gw.layers.globalMaxPooling1d, tf.layers.globalMaxPooling1d],
] as const;

describe.each(kinds)('global %s pooling', (kind, ours, theirs) => {
  it('trains as in TensorFlow.js, its input gradient included', async () => {
    gw.setRandomSeed(6);
    const m = gw.sequential();
    m.add(gw.layers.gru({ units: H, returnSequences: true, inputShape: [T, I] }));
    m.add(ours());
    m.add(gw.layers.dense({ units: 1, activation: 'sigmoid' }));
    m.compile({ optimizer: 'sgd', loss: 'binaryCrossentropy' });
    expect(m.outputShape).toEqual([1]);
    const reference = tf.sequential();
    reference.add(
      tf.layers.gru({ units: H, returnSequences: true, inputShape: [T, I], recurrentActivation: 'sigmoid' }),
    );
    reference.add(theirs({}));
    reference.add(tf.layers.dense({ units: 1, activation: 'sigmoid' }));
    reference.compile({ optimizer: 'sgd', loss: 'binaryCrossentropy' });
    reference.setWeights(m.getWeights().map((w) => tf.tensor(w.dataSync(), [...w.shape])));
    const x = randomUniform(7, N * T * I, -2, 2);
    const y = Float32Array.from({ length: N }, (_, i) => i % 2);
    const predicted = (await m.predict(gw.tensor(x, [N, T, I]))).dataSync();
    expect(
      maxAbsDiff(predicted, (reference.predict(tf.tensor3d(x, [N, T, I])) as tf.Tensor).dataSync()),
    ).toBeLessThan(1e-6);
    const loss = await m.trainOnBatch(gw.tensor(x, [N, T, I]), gw.tensor(y, [N, 1]));
    const theirLoss = (await reference.trainOnBatch(
      tf.tensor3d(x, [N, T, I]),
      tf.tensor2d(y, [N, 1]),
    )) as number;
    expect(Math.abs(loss - theirLoss)).toBeLessThan(1e-6);
    // The GRU's update needs the gradient through the pooling.
    expect(maxAbsDiff(flatWeights(m), flatWeights(reference))).toBeLessThan(1e-6);

    await m.save(join(dir, kind));
    const { model: loadedByThem, json } = await loadIntoTfjs(join(dir, kind));
    expect(json.modelTopology.config.layers[1]?.class_name).toBe(
      kind === 'average' ? 'GlobalAveragePooling1D' : 'GlobalMaxPooling1D',
    );
    const after = (await m.predict(gw.tensor(x, [N, T, I]))).dataSync();
    expect(
      maxAbsDiff((loadedByThem.predict(tf.tensor3d(x, [N, T, I])) as tf.Tensor).dataSync(), after),
    ).toBeLessThan(1e-6);
    await saveTfjsModel(reference, join(dir, `${kind}-theirs`));
    const loaded = await gw.loadModel(join(dir, `${kind}-theirs`));
    expect(maxAbsDiff((await loaded.predict(gw.tensor(x, [N, T, I]))).dataSync(), after)).toBeLessThan(1e-6);
    m.dispose();
    loaded.dispose();
  });

  it('leaves masked steps out: a padded sequence pools as the sequence alone', async () => {
    gw.setRandomSeed(3);
    const m = gw.sequential();
    m.add(gw.layers.masking({ maskValue: 0, inputShape: [null, I] }));
    m.add(gw.layers.gru({ units: H, returnSequences: true }));
    m.add(ours());
    m.compile({ optimizer: 'sgd', loss: 'meanSquaredError' });
    const length = 4;
    const real = randomUniform(11, length * I, 0.1, 1);
    const padded = new Float32Array(T * I);
    padded.set(real);
    const alone = (await m.predict(gw.tensor(real, [1, length, I]))).dataSync();
    const withPadding = (await m.predict(gw.tensor(padded, [1, T, I]))).dataSync();
    expect(withPadding).toEqual(alone);
    // And trains on it: the padded steps get no gradient, so one SGD step
    // from either gives the same weights.
    const twin = gw.sequential();
    twin.add(gw.layers.masking({ maskValue: 0, inputShape: [null, I] }));
    twin.add(gw.layers.gru({ units: H, returnSequences: true }));
    twin.add(ours());
    twin.compile({ optimizer: 'sgd', loss: 'meanSquaredError' });
    twin.setWeights(m.getWeights());
    const y = gw.tensor(new Float32Array(H).fill(0.5), [1, H]);
    await m.trainOnBatch(gw.tensor(real, [1, length, I]), y);
    await twin.trainOnBatch(gw.tensor(padded, [1, T, I]), y);
    expect(flatWeights(twin)).toEqual(flatWeights(m));
    m.dispose();
    twin.dispose();
  });
});
