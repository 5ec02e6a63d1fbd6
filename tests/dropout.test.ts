/** Dropout: the layer, and a GRU's input dropout. */
import { beforeAll, describe, expect, it } from 'vitest';
import * as gw from '../ts/index.js';
import { randomUniform } from './support/random.js';

let k: gw.Kernel;
beforeAll(async () => {
  k = await gw.ready();
});

describe('dropout layer', () => {
  it('drops the rate, scales the rest, passes the same mask back, and is identity at inference', () => {
    const layer = gw.layers.dropout({ rate: 0.25, seed: 3 });
    layer.build(k, [1000]);
    const ones = k.upload(new Float32Array(4000).fill(1));
    const input = { ptr: ones, shape: [4, 1000] };
    expect(layer.forward(input, false).ptr).toBe(ones);
    const out = k.download(layer.forward(input, true).ptr);
    const zeros = out.filter((v) => v === 0).length / out.length;
    expect(zeros).toBeGreaterThan(0.22);
    expect(zeros).toBeLessThan(0.28);
    expect(out.every((v) => v === 0 || Math.abs(v - 4 / 3) < 1e-6)).toBe(true);
    const dX = k.download(layer.backward(ones, true) as number);
    expect(dX).toEqual(out);
    // A new mask per batch.
    expect(k.download(layer.forward(input, true).ptr)).not.toEqual(out);
    layer.dispose();
    k.free(ones);
  });

  it('is reproducible from gw.setRandomSeed', async () => {
    const run = async () => {
      gw.setRandomSeed(21);
      const model = gw.sequential();
      model.add(
        gw.layers.gru({
          units: 4,
          inputShape: [3, 2],
          returnSequences: true,
          dropout: 0.3,
          recurrentDropout: 0.2,
        }),
      );
      model.add(gw.layers.dropout({ rate: 0.5 }));
      model.add(gw.layers.gru({ units: 4 }));
      model.add(gw.layers.dense({ units: 1 }));
      model.compile({ optimizer: 'sgd', loss: 'mse' });
      const x = gw.tensor(randomUniform(1, 20 * 6), [20, 3, 2]);
      const y = gw.tensor(randomUniform(2, 20), [20, 1]);
      await model.fit(x, y, { epochs: 3, batchSize: 5, seed: 2, verbose: 0 });
      const weights = model.snapshotWeights();
      model.dispose();
      x.dispose();
      y.dispose();
      return weights;
    };
    expect(await run()).toEqual(await run());
  });
});

describe('GRU input dropout', () => {
  it('changes nothing at inference, and a dropped input contributes nothing in training', async () => {
    gw.setRandomSeed(5);
    // rate 0.9999: with this seed every one of the 2 × 3 mask entries drops.
    const gru = gw.layers.gru({ units: 3, dropout: 0.9999, seed: 1, returnSequences: true });
    gru.build(k, [4, 3]);
    const plain = gw.layers.gru({ units: 3, returnSequences: true });
    plain.build(k, [4, 3]);
    for (const [i, w] of plain.weights().entries())
      k.view(w.ptr).set(k.view((gru.weights()[i] as gw.layers.Weight).ptr));
    const x = k.upload(randomUniform(3, 2 * 4 * 3));
    const zeros = k.upload(new Float32Array(2 * 4 * 3));
    const input = { ptr: x, shape: [2, 4, 3] };
    expect(k.download(gru.forward(input, false).ptr)).toEqual(k.download(plain.forward(input, false).ptr));
    const trained = k.download(gru.forward(input, true).ptr);
    expect(trained).toEqual(k.download(plain.forward({ ptr: zeros, shape: [2, 4, 3] }, false).ptr));
    const dOut = k.upload(new Float32Array(2 * 4 * 3).fill(1));
    const dX = k.download(gru.backward(dOut, true) as number);
    expect(dX.every((v) => v === 0)).toBe(true);
    expect(() => gw.layers.gru({ units: 2, dropout: 1 })).toThrow('gru: `dropout` must be in [0, 1), got 1');
    gru.dispose();
    plain.dispose();
    for (const p of [x, zeros, dOut]) k.free(p);
  });
});

describe('GRU recurrent dropout', () => {
  it('drops the state only where it enters the recurrent products', () => {
    for (const resetAfter of [false, true]) {
      gw.setRandomSeed(8);
      // rate 0.9999: with this seed every entry of the 2 × 3 mask drops, so
      // the gates see no state, while the update still keeps it.
      const gru = gw.layers.gru({
        units: 3,
        recurrentDropout: 0.9999,
        seed: 1,
        returnSequences: true,
        resetAfter,
      });
      gru.build(k, [4, 3]);
      const blind = gw.layers.gru({ units: 3, returnSequences: true, resetAfter });
      blind.build(k, [4, 3]);
      const [kernel, recurrent, bias] = gru.weights() as [
        gw.layers.Weight,
        gw.layers.Weight,
        gw.layers.Weight,
      ];
      const [bKernel, bRecurrent, bBias] = blind.weights() as [
        gw.layers.Weight,
        gw.layers.Weight,
        gw.layers.Weight,
      ];
      k.view(bKernel.ptr).set(k.view(kernel.ptr));
      k.view(bBias.ptr).set(k.view(bias.ptr));
      k.view(bias.ptr).set(randomUniform(9, k.view(bias.ptr).length, -0.5, 0.5));
      k.view(bBias.ptr).set(k.view(bias.ptr));
      k.fill(bRecurrent.ptr, 0);
      const x = k.upload(randomUniform(4, 2 * 4 * 3));
      const input = { ptr: x, shape: [2, 4, 3] };
      const trained = k.download(gru.forward(input, true).ptr);
      expect(Array.from(trained)).toEqual(
        Array.from(k.download(blind.forward(input, false).ptr)).map((v) => expect.closeTo(v, 6)),
      );
      // Inference uses the whole state.
      expect(k.download(gru.forward(input, false).ptr)).not.toEqual(trained);
      expect(k.download(recurrent.ptr).some((v) => v !== 0)).toBe(true);
      gru.dispose();
      blind.dispose();
      k.free(x);
    }
  });
});
