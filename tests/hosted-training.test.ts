/**
 * Training hosted by a worker where memory cannot be shared (the simd
 * kernel, as on a page that is not cross-origin isolated): `fit` runs in a
 * worker with a kernel and a copy of the model of its own, callbacks run on
 * this thread through comlink, and the result is the one training here gives,
 * bit for bit, also with callbacks that read and change the model.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import * as gw from '../ts/index.js';
import { Sgd } from '../ts/optimizers/sgd.js';
import { weightsOf } from './support/compare.js';
import { eventLoopGaps } from './support/event-loop.js';
import { fitKillingAWorker } from './support/kill-mid-fit.js';
import { randomUniform } from './support/random.js';
import { runScript } from './support/script.js';
import { within } from './support/within.js';

const [T, I, H] = [10, 4, 16];
const disposables: gw.Sequential[] = [];
// The data sets below are built while the suites are collected.
await gw.ready();
const simd = await gw.Kernel.load('simd');

afterAll(() => {
  for (const model of disposables) model.dispose();
});

function dataset(n: number, seed = 1, steps = T) {
  const x = randomUniform(seed, n * steps * I);
  const y = new Float32Array(n);
  for (let i = 0; i < n; i++)
    y[i] = (x[i * steps * I] as number) - (x[i * steps * I + I] as number) > 0 ? 1 : 0;
  return {
    x: gw.tensor(x, [n, steps, I], { kernel: simd }),
    y: gw.tensor(y, [n, 1], { kernel: simd }),
  };
}

function build(
  workers: number,
  options: { optimizer?: () => gw.optimizers.Optimizer; units?: number; steps?: number } = {},
) {
  gw.setRandomSeed(11);
  const model = new gw.Sequential(simd);
  model.add(
    gw.layers.gru({ units: options.units ?? H, returnSequences: true, inputShape: [options.steps ?? T, I] }),
  );
  model.add(gw.layers.dropout({ rate: 0.2 }));
  model.add(gw.layers.gru({ units: options.units ?? H, recurrentDropout: 0.1 }));
  model.add(gw.layers.dense({ units: 1, activation: 'sigmoid' }));
  model.compile({
    optimizer: options.optimizer?.() ?? gw.optimizers.adam({ learningRate: 0.02 }),
    loss: 'binaryCrossentropy',
    metrics: ['accuracy'],
    workers,
  });
  disposables.push(model);
  return model;
}

/** Callbacks that read and change the model, and a record of what they saw. */
function watchingCallbacks() {
  const seen: { epoch: number; weights: Float32Array[]; lr: number; iterations: number }[] = [];
  let model: gw.callbacks.TrainingModel | undefined;
  const watcher: gw.Callback = {
    setModel: (m) => {
      model = m;
    },
    onEpochEnd: (epoch) => {
      if (!model) throw new Error('no model');
      seen.push({
        epoch,
        weights: model.snapshotWeights(),
        lr: model.optimizer.currentLearningRate,
        iterations: (model as gw.Sequential).optimizer.iterations,
      });
    },
  };
  const callbacks = [
    gw.callbacks.reduceLROnPlateau({ monitor: 'loss', patience: 1, factor: 0.5, minDelta: 0.05 }),
    gw.callbacks.earlyStopping({ monitor: 'val_loss', patience: 3, restoreBestWeights: true }),
    watcher,
  ];
  return { seen, callbacks };
}

describe('fit hosted by a worker (no shared memory)', () => {
  const { x, y } = dataset(120);

  it('equals fit on this thread bit for bit, with callbacks that read and change the model', async () => {
    const here = build(0);
    const there = build(1);
    const args = { epochs: 12, batchSize: 16, seed: 3, verbose: 0 as const, validationSplit: 0.25 };
    const local = watchingCallbacks();
    const hosted = watchingCallbacks();
    const expected = await here.fit(x, y, { ...args, callbacks: local.callbacks });
    const got = await within(there.fit(x, y, { ...args, callbacks: hosted.callbacks }), 'hosted fit');
    expect(await there.trainingHost()).toBeDefined();
    expect(got).toEqual(expected);
    expect(hosted.seen).toEqual(local.seen);
    // The callbacks acted: the rate was cut and training stopped early with the best weights.
    expect(expected.history.lr?.some((lr) => lr < 0.02)).toBe(true);
    expect(expected.epoch.length).toBeLessThan(12);
    expect(weightsOf(there)).toEqual(weightsOf(here));
    expect(there.optimizer.iterations).toBe(here.optimizer.iterations);
    expect(there.optimizer.currentLearningRate).toBe(here.optimizer.currentLearningRate);
    expect(there.stopTraining).toBe(true);
    // A second fit continues from the state the first left, as on this thread.
    const again = { epochs: 2, batchSize: 32, seed: 4, verbose: 0 as const };
    expect(await within(there.fit(x, y, again), 'second hosted fit')).toEqual(await here.fit(x, y, again));
    expect(weightsOf(there)).toEqual(weightsOf(here));
  });

  it('follows a learning-rate schedule, sample weights and validation data like this thread', async () => {
    const schedule = () =>
      gw.optimizers.rmsprop({
        learningRate: gw.schedules.exponentialDecay({
          initialLearningRate: 0.01,
          decaySteps: 3,
          decayRate: 0.7,
        }),
        momentum: 0.5,
      });
    const here = build(0, { optimizer: schedule });
    const there = build(2, { optimizer: schedule });
    const weights = gw.tensor(
      Float32Array.from({ length: 120 }, (_, i) => 0.5 + (i % 3)),
      [120],
      { kernel: simd },
    );
    const validation = dataset(30, 5);
    const batches: number[] = [];
    const args = {
      epochs: 3,
      batchSize: 20,
      seed: 9,
      verbose: 0 as const,
      sampleWeight: weights,
      validationData: [validation.x, validation.y] as [gw.Tensor, gw.Tensor],
    };
    const expected = await here.fit(x, y, args);
    const got = await within(
      there.fit(x, y, { ...args, callbacks: { onBatchEnd: (batch) => void batches.push(batch) } }),
      'hosted fit with a schedule',
    );
    expect(got).toEqual(expected);
    expect(batches).toEqual([0, 1, 2, 3, 4, 5, 0, 1, 2, 3, 4, 5, 0, 1, 2, 3, 4, 5]);
    expect(weightsOf(there)).toEqual(weightsOf(here));
    expect(there.optimizer.currentLearningRate).toBe(here.optimizer.currentLearningRate);
  });

  it('leaves the event loop free while the worker trains', async () => {
    const long = dataset(128, 12, 50);
    const model = build(1, { units: 192, steps: 50 });
    await within(model.fit(long.x, long.y, { epochs: 1, batchSize: 64, verbose: 0 }), 'warm-up fit');
    const { elapsedMs, longestGapMs } = await eventLoopGaps(() =>
      within(model.fit(long.x, long.y, { epochs: 2, batchSize: 64, verbose: 0 }), 'fit'),
    );
    const stepMs = elapsedMs / 4;
    expect(stepMs).toBeGreaterThan(40);
    expect(longestGapMs).toBeLessThan(stepMs / 2);
  });

  it('keeps both kernels flat over repeated fits', async () => {
    const model = build(1);
    const twoEpochs = () => within(model.fit(x, y, { epochs: 2, batchSize: 24, verbose: 0 }), 'fit');
    await twoEpochs();
    const host = await model.trainingHost();
    const workerLive = () =>
      within(host?.workers.call(0, 'live', (api) => api.live()) as Promise<{ bytes: number }>, 'live');
    const [hereBefore, thereBefore] = [simd.live().bytes, (await workerLive()).bytes];
    for (let i = 0; i < 3; i++) await twoEpochs();
    expect(simd.live().bytes).toBe(hereBefore);
    expect((await workerLive()).bytes).toBe(thereBefore);
  });
});

describe('hosted fit checkpoints', () => {
  it('writes checkpoints from the worker, and a resumed run ends where an uninterrupted one does', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gru-wasm-hosted-ckpt-'));
    try {
      const { x, y } = dataset(64, 8);
      const args = { epochs: 4, batchSize: 16, seed: 6, verbose: 0 as const };
      const straight = build(0);
      const expected = await straight.fit(x, y, { ...args, checkpoint: { path: join(dir, 'here') } });
      // Crashes in the third epoch: the checkpoint of epoch 2 is on disk.
      const crashing = build(1);
      const crash = crashing.fit(x, y, {
        ...args,
        checkpoint: { path: join(dir, 'there') },
        callbacks: {
          onEpochBegin: (epoch) => {
            if (epoch === 2) throw new Error('crash');
          },
        },
      });
      await expect(within(crash, 'crashing fit')).rejects.toThrow('crash');
      expect(await readdir(join(dir, 'there'))).toEqual(['ckpt-000002', 'latest.json']);
      const resumed = build(1);
      const history = await within(
        resumed.fit(x, y, { ...args, checkpoint: { path: join(dir, 'there'), resume: true } }),
        'resumed fit',
      );
      expect(history).toEqual(expected);
      expect(weightsOf(resumed)).toEqual(weightsOf(straight));
      expect(resumed.optimizer.iterations).toBe(straight.optimizer.iterations);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('hosted fit in a Node script', () => {
  it('lets the process exit once fit has resolved (no port left open)', async () => {
    const index = new URL('../ts/index.ts', import.meta.url).href;
    let fittedAt: number | undefined;
    const { code } = await runScript(
      `import * as gw from ${JSON.stringify(index)};
await gw.ready();
const simd = await gw.Kernel.load('simd');
const model = new gw.Sequential(simd);
model.add(gw.layers.gru({ units: 4, inputShape: [3, 2] }));
model.add(gw.layers.dense({ units: 1 }));
model.compile({ optimizer: 'adam', loss: 'mse', workers: 1 });
const x = gw.tensor(new Float32Array(48).fill(0.5), [8, 3, 2], { kernel: simd });
const y = gw.tensor(new Float32Array(8).fill(1), [8, 1], { kernel: simd });
await model.fit(x, y, { epochs: 2, verbose: 0, callbacks: { onBatchEnd: () => {} } });
console.log('fitted');
`,
      {
        timeoutMs: 30_000,
        onOutput: (output) => {
          if (fittedAt === undefined && output.includes('fitted')) fittedAt = performance.now();
        },
      },
    );
    expect(code).toBe(0);
    expect(fittedAt).toBeDefined();
    expect(performance.now() - (fittedAt as number)).toBeLessThan(2_000);
  });
});

describe('hosted fit failures', () => {
  const { x, y } = dataset(96, 4);

  it('stops at a batch boundary on abort, with the weights of the last whole step', async () => {
    const abortAfterThirdBatch = async (model: gw.Sequential) => {
      const controller = new AbortController();
      const fit = model.fit(x, y, {
        epochs: 3,
        batchSize: 16,
        seed: 2,
        verbose: 0,
        signal: controller.signal,
        callbacks: {
          onBatchEnd: (batch) => {
            if (batch === 2) controller.abort();
          },
        },
      });
      await expect(within(fit, 'aborted fit')).rejects.toThrow(/abort/i);
    };
    const here = build(0);
    const there = build(1);
    await abortAfterThirdBatch(here);
    await abortAfterThirdBatch(there);
    expect(there.optimizer.iterations).toBe(3);
    expect(weightsOf(there)).toEqual(weightsOf(here));
  });

  it('rejects with a callback’s own error, keeping the steps taken', async () => {
    const model = build(1);
    const failure = new TypeError('callback failed');
    const fit = model.fit(x, y, {
      epochs: 2,
      batchSize: 32,
      verbose: 0,
      callbacks: {
        onEpochEnd: () => {
          throw failure;
        },
      },
    });
    await expect(within(fit, 'fit with a failing callback')).rejects.toBe(failure);
    expect(model.optimizer.iterations).toBe(3);
  });

  it('rejects with the loss that became non-finite, and takes the worker’s state', async () => {
    const model = new gw.Sequential(simd);
    model.add(gw.layers.gru({ units: 4, inputShape: [T, I] }));
    model.add(gw.layers.dense({ units: 1 }));
    model.compile({ optimizer: gw.optimizers.sgd({ learningRate: 1e30 }), loss: 'mse', workers: 1 });
    disposables.push(model);
    const far = gw.tensor(new Float32Array(96).fill(1e18), [96, 1], { kernel: simd });
    const fit = model.fit(x, far, { epochs: 3, batchSize: 16, verbose: 0 });
    await expect(within(fit, 'diverging fit')).rejects.toThrow(
      /^fit: the loss became (NaN|Infinity) at epoch 1, batch \d; training stopped$/,
    );
    expect(model.optimizer.iterations).toBeGreaterThan(0);
    expect(weightsOf(model).some((w) => !w.every(Number.isFinite))).toBe(true);
    far.dispose();
  });

  it('rejects fit when the worker dies mid-training, keeps the last reported steps, and recovers', async () => {
    const big = dataset(256, 6);
    const model = build(1, { units: 96 });
    await within(model.fit(big.x, big.y, { epochs: 1, batchSize: 64, verbose: 0 }), 'first fit');
    const host = await model.trainingHost();
    const { fit, stepsTaken } = fitKillingAWorker(model, big.x, big.y, () => void host?.workers.kill(0));
    await expect(within(fit, 'fit with a killed worker')).rejects.toThrow(
      /fit in a worker: kernel worker 0 exited/,
    );
    expect(model.optimizer.iterations).toBe(4 + stepsTaken());
    for (const w of weightsOf(model)) expect(w.every(Number.isFinite)).toBe(true);
    const history = await within(
      model.fit(big.x, big.y, { epochs: 1, batchSize: 64, verbose: 0 }),
      'fit after',
    );
    expect(history.history.loss?.[0]).toBeGreaterThan(0);
    expect(await model.trainingHost()).not.toBe(host);
  });

  it('refuses an optimizer it cannot copy to the worker', async () => {
    class Custom extends Sgd {}
    const model = build(1, { optimizer: () => new Custom() });
    await expect(within(model.fit(x, y, { verbose: 0 }), 'fit')).rejects.toThrow(
      /fit: training in a worker copies the optimizer, and a Custom cannot be copied/,
    );
  });
});
