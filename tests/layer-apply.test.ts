/**
 * Layers applied to tensors outside a model (TensorFlow.js' eager
 * `layer.apply`), including a GRU's initial state and returned state.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import * as gw from '../ts/index.js';
import { expectClose } from './support/compare.js';
import { randomUniform } from './support/random.js';

const [B, T, I, H] = [3, 5, 4, 6];

beforeAll(async () => {
  await tf.setBackend('cpu');
  await gw.ready();
});

describe('gru.apply with returnState and initialState, vs TensorFlow.js', () => {
  for (const returnSequences of [false, true]) {
    for (const goBackwards of [false, true]) {
      it(`returnSequences ${returnSequences}, goBackwards ${goBackwards}`, () => {
        const x = randomUniform(1, B * T * I);
        const h0 = randomUniform(2, B * H, -0.5, 0.5);
        const ours = gw.layers.gru({ units: H, returnState: true, returnSequences, goBackwards });
        const [out, state] = ours.apply(gw.tensor(x, [B, T, I]), {
          initialState: gw.tensor(h0, [B, H]),
        }) as gw.Tensor[];

        const theirs = tf.layers.gru({
          units: H,
          returnState: true,
          returnSequences,
          goBackwards,
          recurrentActivation: 'sigmoid',
        });
        const xt = tf.tensor3d(x, [B, T, I]);
        const h0t = tf.tensor2d(h0, [B, H]);
        theirs.apply(xt, { initialState: [h0t] });
        theirs.setWeights(ours.weights().map((w) => tf.tensor(gw.kernel().download(w.ptr), [...w.shape])));
        const [theirOut, theirState] = theirs.apply(xt, { initialState: [h0t] }) as tf.Tensor[];

        expect(out?.shape).toEqual(returnSequences ? [B, T, H] : [B, H]);
        expect(state?.shape).toEqual([B, H]);
        expectClose('output', out?.dataSync() ?? [], (theirOut as tf.Tensor).dataSync(), 2e-5);
        expectClose('state', state?.dataSync() ?? [], (theirState as tf.Tensor).dataSync(), 2e-5);
        out?.dispose();
        state?.dispose();
        ours.dispose();
      });
    }
  }

  it('refuses a bad initial state, and returnState inside a Sequential model', () => {
    const gru = gw.layers.gru({ units: H });
    expect(() =>
      gru.apply(gw.tensor(new Float32Array(B * T * I), [B, T, I]), {
        initialState: gw.tensor([1, 2], [1, 2]),
      }),
    ).toThrow(`initialState must have shape [${B}, ${H}], got [1, 2]`);
    const model = gw.sequential();
    expect(() => model.add(gw.layers.gru({ units: 2, returnState: true, inputShape: [T, I] }))).toThrow(
      'has returnState: its two outputs cannot flow through a Sequential model',
    );
    gru.dispose();
  });

  it('dense.apply works on 3-D tensors', () => {
    const dense = gw.layers.dense({ units: 2, activation: 'relu' });
    const y = dense.apply(gw.tensor(randomUniform(3, B * T * I), [B, T, I])) as gw.Tensor;
    expect(y.shape).toEqual([B, T, 2]);
    expect(y.dataSync().every((v) => v >= 0)).toBe(true);
    y.dispose();
    dense.dispose();
  });
});
