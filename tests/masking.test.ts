/**
 * Masking: padded variable-length sequences give exactly what the unpadded
 * sequences give, one at a time: the same predictions, the same loss and
 * metrics (padded steps left out, unlike TensorFlow.js), and the same
 * gradient step.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as gw from '../ts/index.js';
import { randomUniform } from './support/random.js';

const [F, H, T] = [3, 5, 7];
const PAD = -1;
const lengths = [7, 3, 5, 1];
const prePadded = [false, true, false, true];

beforeAll(async () => {
  await gw.ready();
});

function build(steps: number, returnSequences: boolean, masked: boolean, goBackwards = false) {
  const model = gw.sequential();
  if (masked) model.add(gw.layers.masking({ maskValue: PAD, inputShape: [steps, F] }));
  model.add(
    gw.layers.gru({ units: H, returnSequences, goBackwards, ...(masked ? {} : { inputShape: [steps, F] }) }),
  );
  model.add(gw.layers.dense({ units: 1, activation: 'sigmoid' }));
  return model;
}

/** Sequence i's real steps, and the padded batch. */
function data(returnSequences: boolean, goBackwards: boolean) {
  const sequences = lengths.map((len, i) => randomUniform(10 + i, len * F, -1, 1));
  const labels = lengths.map((len, i) =>
    Float32Array.from(randomUniform(20 + i, returnSequences ? len : 1, 0, 1), (v) => (v > 0.5 ? 1 : 0)),
  );
  const x = new Float32Array(lengths.length * T * F).fill(PAD);
  const y = new Float32Array(lengths.length * (returnSequences ? T : 1));
  lengths.forEach((len, i) => {
    const offset = prePadded[i] ? T - len : 0;
    x.set(sequences[i] as Float32Array, (i * T + offset) * F);
    y.set(labels[i] as Float32Array, returnSequences ? i * T + outputOffset(i, len, goBackwards) : i);
  });
  const yShape = returnSequences ? [lengths.length, T, 1] : [lengths.length, 1];
  return { sequences, labels, x: gw.tensor(x, [lengths.length, T, F]), y: gw.tensor(y, yShape) };
}

/**
 * Where sequence i's outputs start: with goBackwards the outputs come in
 * processing order, so its real steps end up mirrored.
 */
function outputOffset(i: number, len: number, goBackwards: boolean): number {
  const offset = prePadded[i] ? T - len : 0;
  return goBackwards ? T - offset - len : offset;
}

describe.each([false, true])('masking with returnSequences = %s', (returnSequences) => {
  for (const goBackwards of [false, true]) {
    it(`goBackwards = ${goBackwards}: predictions, loss, metrics and one SGD step match the unpadded sequences`, async () => {
      gw.setRandomSeed(3);
      const padded = build(T, returnSequences, true, goBackwards);
      const lr = 0.5;
      padded.compile({
        optimizer: gw.optimizers.sgd({ learningRate: lr }),
        loss: 'binaryCrossentropy',
        metrics: ['accuracy'],
      });
      const initial = padded.snapshotWeights();
      const { sequences, labels, x, y } = data(returnSequences, goBackwards);

      // Each sequence alone, in a model of its own length with the same weights.
      const valid = lengths.reduce((a, b) => a + b, 0);
      let expectedLoss = 0;
      let expectedAcc = 0;
      const expectedWeights = initial.map((w) => Float64Array.from(w));
      const predictions: Float32Array[] = [];
      for (const [i, len] of lengths.entries()) {
        const single = build(len, returnSequences, false, goBackwards);
        // Per-step outputs: the batch loss is the mean over all real steps, so
        // sequence i weighs len/valid; final outputs: each sequence 1/B.
        const share = returnSequences ? len / valid : 1 / lengths.length;
        single.compile({
          optimizer: gw.optimizers.sgd({ learningRate: lr * share }),
          loss: 'binaryCrossentropy',
          metrics: ['accuracy'],
        });
        single.setWeights(initial);
        const sx = gw.tensor(sequences[i] as Float32Array, [1, len, F]);
        const sy = gw.tensor(labels[i] as Float32Array, returnSequences ? [1, len, 1] : [1, 1]);
        const p = await single.predict(sx);
        predictions.push(await p.data());
        p.dispose();
        const [loss, acc] = (await single.evaluate(sx, sy)) as [number, number];
        expectedLoss += share * loss;
        expectedAcc += (returnSequences ? len / valid : 1 / lengths.length) * acc;
        await single.trainOnBatch(sx, sy);
        single.snapshotWeights().forEach((w, k) => {
          const target = expectedWeights[k] as Float64Array;
          const start = initial[k] as Float32Array;
          for (let j = 0; j < w.length; j++)
            target[j] = (target[j] as number) + (w[j] as number) - (start[j] as number);
        });
        single.dispose();
        sx.dispose();
        sy.dispose();
      }

      const p = await padded.predict(x);
      const all = await p.data();
      p.dispose();
      for (const [i, len] of lengths.entries()) {
        const offset = outputOffset(i, len, goBackwards);
        const ours = returnSequences
          ? all.subarray(i * T + offset, i * T + offset + len)
          : all.subarray(i, i + 1);
        expect(Array.from(ours)).toEqual(
          Array.from(predictions[i] as Float32Array).map((v) => expect.closeTo(v, 6)),
        );
      }
      const [loss, acc] = (await padded.evaluate(x, y)) as [number, number];
      expect(loss).toBeCloseTo(expectedLoss, 6);
      expect(acc).toBeCloseTo(expectedAcc, 6);
      const reported = await padded.trainOnBatch(x, y);
      expect(reported).toBeCloseTo(expectedLoss, 6);
      padded.snapshotWeights().forEach((w, k) => {
        const expected = expectedWeights[k] as Float64Array;
        for (let j = 0; j < w.length; j++) expect(w[j]).toBeCloseTo(expected[j] as number, 5);
      });
      padded.dispose();
      x.dispose();
      y.dispose();
    });
  }
});
