/**
 * `gw.callbacks.modelCheckpoint` (Keras' ModelCheckpoint): the saved model
 * holds the weights of the best epoch (saveBestOnly) or of each epoch
 * (`{epoch}` in the path), on this thread and when a worker hosts `fit`.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as gw from '../ts/index.js';
import { randomUniform } from './support/random.js';
import { within } from './support/within.js';

const [N, T, I, H] = [24, 5, 3, 6];
const dir = mkdtempSync(join(tmpdir(), 'gru-wasm-model-checkpoint-'));
const models: gw.Sequential[] = [];
const xValues = randomUniform(1, N * T * I);
const yValues = Float32Array.from({ length: N }, (_, n) => ((xValues[n * T * I] as number) > 0 ? 1 : 0));

beforeAll(async () => {
  await gw.ready();
});

afterAll(() => {
  for (const m of models) m.dispose();
  rmSync(dir, { recursive: true, force: true });
});

function build(kernel: gw.Kernel, workers = 0): gw.Sequential {
  gw.setRandomSeed(3);
  const m = new gw.Sequential(kernel);
  m.add(gw.layers.gru({ units: H, inputShape: [T, I] }));
  m.add(gw.layers.dense({ units: 1, activation: 'sigmoid' }));
  // A rate large enough that the validation loss rises again.
  m.compile({ optimizer: gw.optimizers.adam({ learningRate: 0.3 }), loss: 'binaryCrossentropy', workers });
  models.push(m);
  return m;
}

/** Each epoch's logs and weights, as the callbacks after the checkpoint see them. */
function recorder() {
  const epochs: { logs: gw.Logs; weights: Float32Array[] }[] = [];
  let model: gw.Sequential | undefined;
  const callback: gw.Callback = {
    setModel: (m) => {
      model = m as gw.Sequential;
    },
    onEpochEnd: (_epoch, logs) => {
      epochs.push({ logs: { ...logs }, weights: (model as gw.Sequential).snapshotWeights() });
    },
  };
  return { epochs, callback };
}

async function savedWeights(path: string): Promise<Float32Array[]> {
  const loaded = await gw.loadModel(path);
  const weights = loaded.snapshotWeights();
  loaded.dispose();
  return weights;
}

async function fit(m: gw.Sequential, kernel: gw.Kernel, callbacks: gw.Callback[], epochs: number) {
  const [x, y] = [gw.tensor(xValues, [N, T, I], { kernel }), gw.tensor(yValues, [N, 1], { kernel })];
  await within(
    m.fit(x, y, { epochs, batchSize: 8, validationSplit: 0.25, seed: 4, callbacks, verbose: 0 }),
    'fit',
  );
  x.dispose();
  y.dispose();
}

describe('modelCheckpoint', () => {
  it('keeps the best epoch’s weights with saveBestOnly', async () => {
    const kernel = gw.kernel();
    const path = join(dir, 'best');
    const checkpoint = gw.callbacks.modelCheckpoint({ path, saveBestOnly: true });
    const { epochs, callback } = recorder();
    await fit(build(kernel), kernel, [checkpoint, callback], 8);
    const losses = epochs.map((e) => e.logs.val_loss as number);
    const improving = losses.flatMap((loss, i) =>
      losses.slice(0, i).every((before) => loss < before) ? [i] : [],
    );
    expect(checkpoint.savedEpochs).toEqual(improving);
    // The run must test something: the best epoch is not the last.
    const best = improving[improving.length - 1] as number;
    expect(best).toBeLessThan(losses.length - 1);
    expect(await savedWeights(path)).toEqual(epochs[best]?.weights);
  });

  it('keeps every epoch under its number, also when a worker hosts fit', async () => {
    const simd = await gw.Kernel.load('simd');
    for (const [name, kernel, workers] of [
      ['here', gw.kernel(), 0],
      ['hosted', simd, 1],
    ] as const) {
      const checkpoint = gw.callbacks.modelCheckpoint({ path: join(dir, name, 'epoch-{epoch}') });
      const { epochs, callback } = recorder();
      await fit(build(kernel, workers), kernel, [checkpoint, callback], 3);
      expect(checkpoint.savedEpochs).toEqual([0, 1, 2]);
      for (const epoch of [1, 2, 3]) {
        expect(await savedWeights(join(dir, name, `epoch-${epoch}`)), `${name} epoch ${epoch}`).toEqual(
          epochs[epoch - 1]?.weights,
        );
      }
      expect(existsSync(join(dir, name, 'epoch-4'))).toBe(false);
    }
  });

  it('names a missing path', () => {
    expect(() => gw.callbacks.modelCheckpoint({ path: '' })).toThrow(
      'modelCheckpoint: `path` must name where to save',
    );
  });
});
