/**
 * Checkpoints: training that crashes and resumes from its last checkpoint
 * ends bit-identical to training that never stopped, and a half-written
 * checkpoint never replaces a complete one.
 */
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import * as gw from '../ts/index.js';
import { randomUniform } from './support/random.js';

const [N, T, I] = [40, 5, 3];
let dir: string;

beforeAll(async () => {
  await gw.ready();
  dir = await mkdtemp(join(tmpdir(), 'gru-wasm-ckpt-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function build(seed: number): gw.Sequential {
  gw.setRandomSeed(seed);
  const model = gw.sequential();
  model.add(
    gw.layers.gru({
      units: 6,
      inputShape: [T, I],
      returnSequences: true,
      dropout: 0.2,
      recurrentDropout: 0.1,
    }),
  );
  model.add(gw.layers.dropout({ rate: 0.3 }));
  model.add(gw.layers.gru({ units: 4 }));
  model.add(gw.layers.dense({ units: 1, activation: 'sigmoid' }));
  model.compile({
    optimizer: gw.optimizers.adam({ learningRate: 0.01, amsgrad: true }),
    loss: 'binaryCrossentropy',
    metrics: ['acc'],
  });
  return model;
}

it('a resumed run ends bit-identical to an uninterrupted one', async () => {
  const x = gw.tensor(randomUniform(1, N * T * I), [N, T, I]);
  const y = gw.tensor(
    Float32Array.from(randomUniform(2, N, 0, 1), (v) => (v > 0.5 ? 1 : 0)),
    [N, 1],
  );
  const fitArgs = { epochs: 5, batchSize: 8, seed: 3, verbose: 0 as const, validationSplit: 0.2 };

  const straight = build(1);
  const straightHistory = await straight.fit(x, y, { ...fitArgs, checkpoint: { path: join(dir, 'a') } });
  const expected = straight.snapshotWeights();
  straight.dispose();

  // Crash in the middle of the fourth epoch.
  const crashing = build(1);
  await expect(
    crashing.fit(x, y, {
      ...fitArgs,
      checkpoint: { path: join(dir, 'b'), everyEpochs: 1 },
      callbacks: {
        onBatchEnd: (batch) => {
          if (crashing.optimizer.iterations === 3 * 4 + 2) throw new Error(`power cut at batch ${batch}`);
        },
      },
    }),
  ).rejects.toThrow('power cut');
  crashing.dispose();
  expect(JSON.parse(await readFile(join(dir, 'b', 'latest.json'), 'utf8'))).toEqual({
    checkpoint: 'ckpt-000003',
  });

  // A half-written newer checkpoint (no latest.json update) is ignored.
  await mkdir(join(dir, 'b', 'ckpt-000004'));
  await writeFile(join(dir, 'b', 'ckpt-000004', 'weights.bin'), new Uint8Array(7));

  // A fresh process: different initial weights, restored from the checkpoint.
  const resumed = build(99);
  const history = await resumed.fit(x, y, { ...fitArgs, checkpoint: { path: join(dir, 'b'), resume: true } });
  expect(resumed.snapshotWeights()).toEqual(expected);
  expect(resumed.optimizer.iterations).toBe(5 * 4);
  expect(history).toEqual(straightHistory);
  expect((await readdir(join(dir, 'b'))).sort()).toEqual(['ckpt-000005', 'latest.json']);
  resumed.dispose();
  x.dispose();
  y.dispose();
});

it('resuming from an empty directory starts from scratch', async () => {
  const model = build(4);
  const x = gw.tensor(randomUniform(5, 8 * T * I), [8, T, I]);
  const y = gw.tensor(new Float32Array(8), [8, 1]);
  const history = await model.fit(x, y, {
    epochs: 2,
    verbose: 0,
    checkpoint: { path: join(dir, 'empty'), resume: true },
  });
  expect(history.epoch).toEqual([0, 1]);
  model.dispose();
  x.dispose();
  y.dispose();
});
