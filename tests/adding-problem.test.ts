/** A long-range memory task: Adam learns the adding problem at T = 50. */
import { expect, it } from 'vitest';
import * as gw from '../ts/index.js';
import { addingProblem } from './support/adding.js';

it('learns the adding problem (T = 50) to MSE < 0.05', async () => {
  await gw.ready();
  gw.setRandomSeed(7);
  const T = 50;
  const train = addingProblem(16_384, T, 1);
  const test = addingProblem(1024, T, 2);
  const [x, y] = [gw.tensor(train.x, [16_384, T, 2]), gw.tensor(train.y, [16_384, 1])];
  const [tx, ty] = [gw.tensor(test.x, [1024, T, 2]), gw.tensor(test.y, [1024, 1])];
  const model = gw.sequential();
  model.add(gw.layers.gru({ units: 32, inputShape: [T, 2] }));
  model.add(gw.layers.dense({ units: 1 }));
  model.compile({
    optimizer: gw.optimizers.adam({ learningRate: 3e-3, clipnorm: 1 }),
    loss: 'meanSquaredError',
  });
  // 3 epochs of 256 batches: 768 Adam steps of 64 sequences.
  await model.fit(x, y, { epochs: 3, batchSize: 64, seed: 1, verbose: 0 });
  const mse = (await model.evaluate(tx, ty, { batchSize: 256 })) as number;
  expect(mse).toBeLessThan(0.05);
  for (const t of [x, y, tx, ty]) t.dispose();
  model.dispose();
  expect(gw.kernel().live().tensors).toBe(0);
}, 120_000);
