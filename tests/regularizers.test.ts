/**
 * Weight penalties (Keras' L1, L2 and L1L2 regularizers on kernels,
 * recurrent kernels, biases and embeddings): losses, evaluation and
 * training steps against TensorFlow.js on identical weights; on workers as
 * on this thread; and in files both ways (Keras 3's `L2` form too).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as gw from '../ts/index.js';
import { flatWeights, maxAbsDiff } from './support/compare.js';
import { loadIntoTfjs } from './support/tfjs-files.js';

const [N, T, V, E, H] = [6, 4, 7, 3, 5];
const dir = mkdtempSync(join(tmpdir(), 'gru-wasm-regularizers-'));
const ids = Float32Array.from({ length: N * T }, (_, i) => (i * 3 + 1) % V);
const targets = Float32Array.from({ length: N }, (_, n) => n % 2);

beforeAll(async () => {
  await tf.setBackend('cpu');
  await gw.ready();
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** Embedding → GRU → Dense(1, sigmoid), every weight penalized. */
function model(workers = 0): gw.Sequential {
  gw.setRandomSeed(17);
  const m = gw.sequential();
  m.add(
    gw.layers.embedding({ inputDim: V, outputDim: E, inputShape: [T], embeddingsRegularizer: { l2: 0.05 } }),
  );
  m.add(
    gw.layers.gru({
      units: H,
      kernelRegularizer: { l2: 0.01 },
      recurrentRegularizer: { l1: 0.002 },
      biasRegularizer: { l1: 0.01, l2: 0.01 },
      // Away from 0, where |b|'s gradient is TensorFlow's 0 here and −1 in TensorFlow.js' autodiff.
      biasInitializer: 'ones',
    }),
  );
  m.add(gw.layers.dense({ units: 1, activation: 'sigmoid', kernelRegularizer: { l1: 0.01, l2: 0.02 } }));
  m.compile({ optimizer: gw.optimizers.sgd({ learningRate: 0.3 }), loss: 'binaryCrossentropy', workers });
  return m;
}

describe('regularizers', () => {
  it('add their penalties to the loss and gradients as TensorFlow.js does', async () => {
    const ours = model();
    const theirs = tf.sequential();
    theirs.add(
      tf.layers.embedding({
        inputDim: V,
        outputDim: E,
        inputLength: T,
        embeddingsRegularizer: tf.regularizers.l2({ l2: 0.05 }),
      }),
    );
    // TensorFlow.js leaves a GRU's own regularizers out of its loss (its
    // trainOnBatch loss and GRU weights came out as without them): the same
    // penalties in TensorFlow.js ops instead, its autodiff their gradient.
    theirs.add(tf.layers.gru({ units: H, recurrentActivation: 'sigmoid' }));
    theirs.add(
      tf.layers.dense({
        units: 1,
        activation: 'sigmoid',
        kernelRegularizer: tf.regularizers.l1l2({ l1: 0.01, l2: 0.02 }),
      }),
    );
    theirs.compile({ optimizer: tf.train.sgd(0.3), loss: 'binaryCrossentropy' });
    theirs.setWeights(ours.getWeights().map((w) => tf.tensor(w.dataSync(), [...w.shape])));
    const theirGru = theirs.layers[1] as tf.layers.Layer;
    theirGru.addLoss(() =>
      tf.tidy(() => {
        const [kernel, recurrent, bias] = theirGru.trainableWeights.map((w) => w.read()) as tf.Tensor[];
        return tf.addN([
          tf.mul(0.01, tf.sum(tf.square(kernel as tf.Tensor))),
          tf.mul(0.002, tf.sum(tf.abs(recurrent as tf.Tensor))),
          tf.mul(0.01, tf.add(tf.sum(tf.abs(bias as tf.Tensor)), tf.sum(tf.square(bias as tf.Tensor)))),
        ]) as tf.Scalar;
      }),
    );
    const [x, y] = [gw.tensor(ids, [N, T]), gw.tensor(targets, [N, 1])];
    const [tx, ty] = [tf.tensor2d(ids, [N, T]), tf.tensor2d(targets, [N, 1])];

    // Keras' evaluate reports the loss with the penalties, TensorFlow.js'
    // without them: its loss plus the penalties summed here from the weights.
    const penalty = () => {
      const [embeddings, kernel, recurrent, bias, dense] = ours
        .getWeights()
        .map((t) => Array.from(t.dataSync()));
      const l1 = (a: number[] = []) => a.reduce((sum, v) => sum + Math.abs(v), 0);
      const l2 = (a: number[] = []) => a.reduce((sum, v) => sum + v * v, 0);
      return (
        0.05 * l2(embeddings) +
        0.01 * l2(kernel) +
        0.002 * l1(recurrent) +
        0.01 * (l1(bias) + l2(bias)) +
        0.01 * l1(dense) +
        0.02 * l2(dense)
      );
    };
    const evaluated = (await ours.evaluate(x, y)) as number;
    const theirEvaluated = (theirs.evaluate(tx, ty) as tf.Scalar).dataSync()[0] as number;
    expect(penalty()).toBeGreaterThan(0.05);
    expect(Math.abs(evaluated - (theirEvaluated + penalty()))).toBeLessThan(1e-5);

    for (let step = 0; step < 3; step++) {
      const loss = await ours.trainOnBatch(x, y);
      const theirLoss = (await theirs.trainOnBatch(tx, ty)) as number;
      expect(Math.abs(loss - theirLoss), `step ${step}`).toBeLessThan(1e-5);
    }
    const theirWeights = theirs.getWeights().flatMap((w) => Array.from(w.dataSync()));
    expect(maxAbsDiff(flatWeights(ours), theirWeights)).toBeLessThan(1e-5);
    ours.dispose();
  });

  it('leave a frozen layer’s penalty out, as Keras 3 does', async () => {
    const m = model();
    const [x, y] = [gw.tensor(ids, [N, T]), gw.tensor(targets, [N, 1])];
    const withEmbedding = (await m.evaluate(x, y)) as number;
    const [embeddings] = m.getWeights().map((t) => Array.from(t.dataSync()));
    const embeddingPenalty = 0.05 * (embeddings ?? []).reduce((sum, v) => sum + v * v, 0);
    m.getLayer(0).trainable = false;
    m.compile({ optimizer: 'sgd', loss: 'binaryCrossentropy' });
    const frozen = (await m.evaluate(x, y)) as number;
    expect(embeddingPenalty).toBeGreaterThan(1e-4);
    expect(Math.abs(withEmbedding - frozen - embeddingPenalty)).toBeLessThan(1e-6);
    m.dispose();
  });

  it('count once when a batch is split between workers', async () => {
    const here = model();
    const there = model(2);
    const [x, y] = [gw.tensor(ids, [N, T]), gw.tensor(targets, [N, 1])];
    const a = await here.fit(x, y, { epochs: 2, batchSize: N, shuffle: false, verbose: 0 });
    const b = await there.fit(x, y, { epochs: 2, batchSize: N, shuffle: false, verbose: 0 });
    expect(maxAbsDiff(a.history.loss as number[], b.history.loss as number[])).toBeLessThan(1e-5);
    expect(maxAbsDiff(flatWeights(there), flatWeights(here))).toBeLessThan(1e-5);
    here.dispose();
    there.dispose();
  });

  it('are saved as TensorFlow.js writes them and read back, Keras 3’s form too', async () => {
    const ours = model();
    const target = join(dir, 'penalized');
    await ours.save(target);
    const loaded = await gw.loadModel(target);
    const gruLayer = loaded.getLayer(1) as gw.layers.Gru;
    expect(gruLayer.regularizers).toEqual({
      kernel: { l1: 0, l2: 0.01 },
      recurrent: { l1: 0.002, l2: 0 },
      bias: { l1: 0.01, l2: 0.01 },
    });
    const { model: inTfjs } = await loadIntoTfjs(target);
    const theirGru = inTfjs.layers[1]?.getConfig() as Record<string, unknown>;
    expect(theirGru.kernelRegularizer).toEqual({ className: 'L1L2', config: { l1: 0, l2: 0.01 } });

    const json = JSON.parse(await readFile(join(target, 'model.json'), 'utf8'));
    const layers = json.modelTopology.config.layers;
    layers[2].config.kernel_regularizer = {
      module: 'keras.regularizers',
      class_name: 'L2',
      config: { l2: 0.125 },
      registered_name: null,
    };
    await writeFile(join(target, 'model.json'), JSON.stringify(json));
    const keras3 = await gw.loadModel(target);
    expect((keras3.getLayer(2) as gw.layers.Dense).regularizers.kernel).toEqual({ l1: 0, l2: 0.125 });

    layers[2].config.kernel_regularizer = { class_name: 'OrthogonalRegularizer', config: { factor: 0.01 } };
    await writeFile(join(target, 'model.json'), JSON.stringify(json));
    await expect(gw.loadModel(target)).rejects.toThrow(
      /kernel_regularizer\.class_name: only the L1, L2 and L1L2 regularizers are supported, got "OrthogonalRegularizer"/,
    );
    layers[2].config.kernel_regularizer = null;
    layers[2].config.activity_regularizer = { class_name: 'L2', config: { l2: 0.01 } };
    await writeFile(join(target, 'model.json'), JSON.stringify(json));
    await expect(gw.loadModel(target)).rejects.toThrow(
      /activity_regularizer: activity regularizers are not supported/,
    );
    expect(() => gw.layers.dense({ units: 1, kernelRegularizer: { l2: -1 } })).toThrow(
      /kernelRegularizer: l2 must be a finite number ≥ 0, got -1/,
    );
    for (const m of [ours, loaded, keras3]) m.dispose();
  });
});
