/**
 * `evaluate(x, y, { sampleWeight })` (Keras' sample_weight): the loss is
 * Σ wₙ·lossₙ / N over the samples, whatever the batches, with each lossₙ
 * the sample's own loss evaluated alone; metrics stay unweighted; a weight
 * of the wrong shape is named.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as gw from '../ts/index.js';
import { randomUniform } from './support/random.js';

const [N, T, I, H] = [10, 4, 3, 5];
const xValues = randomUniform(1, N * T * I);
const yValues = Float32Array.from({ length: N }, (_, n) => n % 2);
const weights = randomUniform(2, N, 0, 3);
let model: gw.Sequential;

beforeAll(async () => {
  await gw.ready();
  gw.setRandomSeed(9);
  model = gw.sequential();
  model.add(gw.layers.gru({ units: H, inputShape: [T, I] }));
  model.add(gw.layers.dense({ units: 1, activation: 'sigmoid' }));
  model.compile({ optimizer: 'sgd', loss: 'binaryCrossentropy', metrics: ['accuracy'] });
});

afterAll(() => {
  model.dispose();
});

async function evaluate(
  from: number,
  to: number,
  args: { batchSize?: number; sampleWeight?: gw.Tensor } = {},
) {
  const x = gw.tensor(xValues.slice(from * T * I, to * T * I), [to - from, T, I]);
  const y = gw.tensor(yValues.slice(from, to), [to - from, 1]);
  const values = (await model.evaluate(x, y, args)) as number[];
  x.dispose();
  y.dispose();
  return values;
}

describe('evaluate with sample weights', () => {
  it('weighs each sample’s loss, in any batches, and leaves the metrics unweighted', async () => {
    let weighted = 0;
    for (let n = 0; n < N; n++)
      weighted += (weights[n] as number) * ((await evaluate(n, n + 1))[0] as number);
    const [plainLoss, plainAccuracy] = await evaluate(0, N);
    for (const batchSize of [N, 4, 1]) {
      const sampleWeight = gw.tensor(weights, [N]);
      const [loss, accuracy] = await evaluate(0, N, { batchSize, sampleWeight });
      sampleWeight.dispose();
      expect(loss, `batches of ${batchSize}`).toBeCloseTo(weighted / N, 6);
      expect(accuracy).toBe(plainAccuracy);
    }
    expect(Math.abs((plainLoss as number) - weighted / N)).toBeGreaterThan(1e-3);
  });

  it('names a weight of the wrong shape', async () => {
    const sampleWeight = gw.tensor([1, 2, 3], [3]);
    await expect(evaluate(0, N, { sampleWeight })).rejects.toThrow(
      'evaluate: sampleWeight must have shape [10], got [3]',
    );
    sampleWeight.dispose();
  });
});
