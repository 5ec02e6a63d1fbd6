/**
 * Bidirectional GRUs against TensorFlow.js' `tf.layers.bidirectional` on the
 * same weights: predictions, and the losses of training steps, for every
 * merge mode with and without returned sequences.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import * as gw from '../ts/index.js';
import { expectClose } from './support/compare.js';
import { randomUniform } from './support/random.js';

const [N, T, I, H] = [6, 5, 3, 4];

beforeAll(async () => {
  await tf.setBackend('cpu');
  await gw.ready();
});

describe('bidirectional vs TensorFlow.js', () => {
  for (const mergeMode of ['concat', 'sum', 'mul', 'ave'] as const) {
    for (const returnSequences of [false, true]) {
      it(`mergeMode ${mergeMode}, returnSequences ${returnSequences}`, async () => {
        const model = gw.sequential();
        model.add(
          gw.layers.bidirectional({
            layer: gw.layers.gru({ units: H, returnSequences }),
            mergeMode,
            inputShape: [T, I],
          }),
        );
        if (returnSequences) model.add(gw.layers.gru({ units: H }));
        model.add(gw.layers.dense({ units: 1, activation: 'sigmoid' }));
        model.compile({ optimizer: gw.optimizers.sgd({ learningRate: 0.3 }), loss: 'binaryCrossentropy' });

        const reference = tf.sequential();
        reference.add(
          tf.layers.bidirectional({
            layer: tf.layers.gru({
              units: H,
              returnSequences,
              recurrentActivation: 'sigmoid',
            }) as tf.layers.RNN,
            mergeMode,
            inputShape: [T, I],
          }),
        );
        if (returnSequences) reference.add(tf.layers.gru({ units: H, recurrentActivation: 'sigmoid' }));
        reference.add(tf.layers.dense({ units: 1, activation: 'sigmoid' }));
        reference.compile({ optimizer: tf.train.sgd(0.3), loss: 'binaryCrossentropy' });
        const weights = model.getWeights();
        reference.setWeights(weights.map((w) => tf.tensor(w.dataSync(), [...w.shape])));
        for (const w of weights) w.dispose();

        const x = randomUniform(1, N * T * I);
        const y = Float32Array.from(randomUniform(2, N, 0, 1), (v) => (v > 0.5 ? 1 : 0));
        const [gx, gy] = [gw.tensor(x, [N, T, I]), gw.tensor(y, [N, 1])];
        const [tx, ty] = [tf.tensor3d(x, [N, T, I]), tf.tensor2d(y, [N, 1])];
        const p = await model.predict(gx);
        expectClose('predictions', await p.data(), (reference.predict(tx) as tf.Tensor).dataSync(), 2e-5);
        p.dispose();
        for (let step = 0; step < 3; step++) {
          const ours = await model.trainOnBatch(gx, gy);
          const theirs = (await reference.trainOnBatch(tx, ty)) as number;
          expect(Math.abs(ours - theirs) / theirs, `step ${step}: ${ours} vs ${theirs}`).toBeLessThan(1e-4);
        }
        gx.dispose();
        gy.dispose();
        model.dispose();
      });
    }
  }

  it('names its weights and counts its parameters', () => {
    const model = gw.sequential();
    model.add(gw.layers.bidirectional({ layer: gw.layers.gru({ units: H }), inputShape: [T, I] }));
    expect(model.outputShape).toEqual([2 * H]);
    expect(model.countParams()).toBe(2 * 3 * (I * H + H * H + H));
    const names = model.layers[0]?.weights().map((w) => w.name.replace(/_\d+/g, ''));
    expect(names).toEqual(
      ['forward', 'backward'].flatMap((d) =>
        ['kernel', 'recurrent_kernel', 'bias'].map((w) => `bidirectional/${d}_gru/${w}`),
      ),
    );
    expect(() =>
      gw.layers.bidirectional({ layer: gw.layers.gru({ units: 2 }), mergeMode: 'max' as 'sum' }),
    ).toThrow("unknown mergeMode 'max'");
    model.dispose();
  });
});
