/**
 * Training on kernel workers over the shared memory: the same results as on
 * the calling thread, only offsets crossing between threads, and failures
 * (kernel errors, a worker killed mid-training, an abort) that reject
 * instead of hanging and leave the weights as the last whole step left them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as gw from '../ts/index.js';
import { layerToJson } from '../ts/io/topology.js';
import { KernelWorkers } from '../ts/worker/workers.js';
import { expectRelClose, weightsOf } from './support/compare.js';
import { eventLoopGaps } from './support/event-loop.js';
import { fitKillingAWorker } from './support/kill-mid-fit.js';
import { randomUniform } from './support/random.js';
import { within } from './support/within.js';

const [T, I, H] = [12, 5, 24];
const disposables: gw.Sequential[] = [];

// The data sets below are built while the suites are collected.
const loaded = await gw.ready();

beforeAll(() => {
  expect(loaded.flavour).toBe('threads');
});

afterAll(() => {
  for (const model of disposables) model.dispose();
});

function dataset(n: number, seed = 1) {
  const x = randomUniform(seed, n * T * I);
  const y = new Float32Array(n);
  for (let i = 0; i < n; i++) y[i] = (x[i * T * I] as number) + (x[i * T * I + I] as number) > 0 ? 1 : 0;
  return { x: gw.tensor(x, [n, T, I]), y: gw.tensor(y, [n, 1]) };
}

function build(
  workers: number,
  options: { optimizer?: () => gw.optimizers.Optimizer; masked?: boolean; units?: number } = {},
) {
  gw.setRandomSeed(7);
  const model = gw.sequential();
  if (options.masked) model.add(gw.layers.masking({ maskValue: 0, inputShape: [T, I] }));
  model.add(
    gw.layers.gru({
      units: options.units ?? H,
      returnSequences: true,
      ...(options.masked ? {} : { inputShape: [T, I] }),
    }),
  );
  model.add(gw.layers.gru({ units: options.units ?? H }));
  model.add(gw.layers.dense({ units: 1, activation: 'sigmoid' }));
  model.compile({
    optimizer: options.optimizer?.() ?? gw.optimizers.adam({ learningRate: 0.01 }),
    loss: 'binaryCrossentropy',
    metrics: ['accuracy'],
    workers,
  });
  disposables.push(model);
  return model;
}

describe('data-parallel training', () => {
  const { x, y } = dataset(128);

  it('on one worker equals training on this thread, bit for bit', async () => {
    const here = build(0);
    const there = build(1);
    const args = { epochs: 3, batchSize: 32, seed: 5, verbose: 0 as const, validationSplit: 0.25 };
    const expected = await here.fit(x, y, args);
    const got = await within(there.fit(x, y, args), 'fit on one worker');
    expect(weightsOf(there)).toEqual(weightsOf(here));
    for (const key of ['loss', 'acc', 'val_loss', 'val_acc']) {
      got.history[key]?.forEach((v, i) => {
        expect(v).toBeCloseTo(expected.history[key]?.[i] as number, 12);
      });
    }
  });

  it.each([2, 3])('on %i workers ends within 1e-5 of one thread after 20 Adam steps', async (workers) => {
    const here = build(0);
    const there = build(workers);
    const args = { epochs: 5, batchSize: 32, seed: 5, verbose: 0 as const };
    const expected = await here.fit(x, y, args);
    const got = await within(there.fit(x, y, args), `fit on ${workers} workers`);
    expect(there.optimizer.iterations).toBe(20);
    const reference = weightsOf(here);
    weightsOf(there).forEach((w, i) => {
      expectRelClose(`weight ${i}`, w, reference[i] as Float32Array, 1e-5);
    });
    got.history.loss?.forEach((v, i) => {
      expect(v).toBeCloseTo(expected.history.loss?.[i] as number, 5);
    });
  });

  it('weighs shares by their unpadded steps and sample weights', async () => {
    // Sequences padded to different lengths put unequal loss counts in the shares.
    const n = 96;
    const data = randomUniform(3, n * T * I);
    for (let i = 0; i < n; i++) data.fill(0, (i * T + T - (i % T)) * I, (i + 1) * T * I);
    const xs = gw.tensor(data, [n, T, I]);
    const ys = gw.tensor(
      Float32Array.from({ length: n }, (_, i) => (i % 3 === 0 ? 1 : 0)),
      [n, 1],
    );
    const sampleWeight = gw.tensor(
      Float32Array.from({ length: n }, (_, i) => 0.5 + (i % 4)),
      [n],
    );
    const sgd = () => gw.optimizers.sgd({ learningRate: 0.1, momentum: 0.9 });
    const here = build(0, { masked: true, optimizer: sgd });
    const there = build(3, { masked: true, optimizer: sgd });
    const args = { epochs: 2, batchSize: 40, seed: 2, verbose: 0 as const, sampleWeight };
    const expected = await here.fit(xs, ys, args);
    const got = await within(there.fit(xs, ys, args), 'masked fit on 3 workers');
    const reference = weightsOf(here);
    weightsOf(there).forEach((w, i) => {
      expectRelClose(`weight ${i}`, w, reference[i] as Float32Array, 1e-5);
    });
    expect(got.history.loss?.[1]).toBeCloseTo(expected.history.loss?.[1] as number, 5);
    expect(got.history.acc).toEqual(expected.history.acc);
  });

  it('posts offsets, not tensors: a step costs a few hundred bytes of messages', async () => {
    const big = dataset(256, 9);
    const model = build(2);
    await model.trainOnBatch(big.x, big.y); // starts the workers and their replicas
    const workers = (await model.workers())?.workers as KernelWorkers;
    const before = workers.trafficSoFar();
    await within(model.fit(big.x, big.y, { epochs: 1, batchSize: 64, verbose: 0 }), 'fit');
    const after = workers.trafficSoFar();
    const steps = 4;
    const perStep = (after.bytes - before.bytes) / steps;
    const batchBytes = 64 * T * I * 4;
    expect(after.messages - before.messages).toBe(steps * 2 * 2); // one call and one reply per worker
    expect(perStep).toBeLessThan(2_000);
    expect(perStep).toBeLessThan(batchBytes / 20);
  });

  it('leaves the event loop free while a step computes', async () => {
    // Steps of ~80 ms here (GRU(256), 64 × 50 steps): on this thread a timer
    // could not fire during one; with workers it keeps its 5 ms rhythm.
    const long = gw.tensor(randomUniform(12, 128 * 50 * I), [128, 50, I]);
    const labels = gw.tensor(
      Float32Array.from({ length: 128 }, (_, i) => i % 2),
      [128, 1],
    );
    const model = gw.sequential();
    model.add(gw.layers.gru({ units: 256, inputShape: [50, I], recurrentInitializer: 'glorotUniform' }));
    model.add(gw.layers.dense({ units: 1, activation: 'sigmoid' }));
    model.compile({ optimizer: 'adam', loss: 'binaryCrossentropy', workers: 2 });
    disposables.push(model);
    await model.trainOnBatch(long, labels); // starts the workers
    const { elapsedMs, longestGapMs } = await eventLoopGaps(() =>
      within(model.fit(long, labels, { epochs: 2, batchSize: 64, verbose: 0 }), 'fit'),
    );
    const stepMs = elapsedMs / 4;
    expect(stepMs).toBeGreaterThan(40);
    expect(longestGapMs).toBeLessThan(stepMs / 2);
  });

  it('keeps the kernel memory flat over epochs', async () => {
    const model = build(2);
    const kernel = model.kernel;
    const live: number[] = [];
    await within(
      model.fit(x, y, {
        epochs: 6,
        batchSize: 24,
        verbose: 0,
        validationSplit: 0.2,
        callbacks: { onEpochEnd: () => void live.push(kernel.live().bytes) },
      }),
      'fit',
    );
    expect(live[5]).toBe(live[1]);
  });
});

describe('failures', () => {
  const { x, y } = dataset(96, 4);

  it('stops at a batch boundary on abort, with the weights of the last whole step', async () => {
    const model = build(2);
    const controller = new AbortController();
    const fit = model.fit(x, y, {
      epochs: 3,
      batchSize: 16,
      shuffle: false,
      verbose: 0,
      signal: controller.signal,
      callbacks: {
        onBatchEnd: (batch) => {
          if (batch === 2) controller.abort();
        },
      },
    });
    await expect(within(fit, 'aborted fit')).rejects.toThrow(/abort/i);
    expect(model.optimizer.iterations).toBe(3);
    // The same three batches, one step each, on this thread.
    const reference = build(0);
    for (let b = 0; b < 3; b++) {
      const rows = Uint32Array.from({ length: 16 }, (_, i) => 16 * b + i);
      const xs = gw.tensor(gatherRows(x, rows, T * I), [16, T, I]);
      const ys = gw.tensor(gatherRows(y, rows, 1), [16, 1]);
      await reference.trainOnBatch(xs, ys);
    }
    const expected = weightsOf(reference);
    weightsOf(model).forEach((w, i) => {
      expectRelClose(`weight ${i}`, w, expected[i] as Float32Array, 1e-5);
    });
  });

  it('rejects with the kernel error a worker met, and the worker stays usable', async () => {
    const kernel = gw.kernel();
    const workers = await within(KernelWorkers.start(kernel, 1), 'start');
    try {
      const model = build(0);
      const spec = {
        layers: [],
        weights: [],
        objective: { loss: 'binaryCrossentropy' as const, metrics: [] },
      };
      await expect(
        within(
          workers.call(0, 'createReplica', (api) => api.createReplica(spec)),
          'call',
        ),
      ).rejects.toThrow(/createReplica in kernel worker 0: .*no layers/);
      const weights = model.layers.flatMap((l) => l.weights()).map((w) => w.ptr);
      const replica = await within(
        workers.call(0, 'createReplica', (api) =>
          api.createReplica({ ...spec, layers: replicaLayers(model), weights }),
        ),
        'createReplica',
      );
      // Offset 12 lies in the kernel's static data: never a tensor.
      const share = { x: 12, y: 12, rows: 2, steps: 3, train: true, randomPositions: [] };
      await expect(
        within(
          workers.call(0, 'runShare', (api) => api.runShare(replica.id, share)),
          'runShare',
        ),
      ).rejects.toThrow(/runShare in kernel worker 0: .*not a live tensor/);
      expect(workers.failure).toBeUndefined();
      // Malformed calls: an unknown replica, wrong types, and a value that cannot be posted.
      await expect(
        within(
          workers.call(0, 'runShare', (api) => api.runShare(999, share)),
          'unknown replica',
        ),
      ).rejects.toThrow(/runShare in kernel worker 0: kernel worker: no replica 999/);
      const garbage = { ...share, rows: 'two' } as unknown as typeof share;
      await expect(
        within(
          workers.call(0, 'runShare', (api) => api.runShare(replica.id, garbage)),
          'wrong types',
        ),
      ).rejects.toThrow('runShare in kernel worker 0: runShare: `rows` must be a positive integer, got two');
      const unpostable = { ...share, x: (() => 12) as unknown as number };
      await expect(
        within(
          workers.call(0, 'runShare', (api) => api.runShare(replica.id, unpostable)),
          'unpostable',
        ),
      ).rejects.toThrow(/could not be cloned/);
      expect(workers.failure).toBeUndefined();
      const stats = await within(
        workers.call(0, 'live', (api) => api.live()),
        'live',
      );
      expect(stats.tensors).toBe(kernel.live().tensors);
    } finally {
      await workers.dispose();
    }
  });

  it('rejects fit when a worker dies mid-training, keeps whole steps, and recovers', async () => {
    const big = dataset(256, 6);
    const model = build(2, { units: 96 });
    await model.trainOnBatch(big.x, big.y);
    const before = model.optimizer.iterations;
    const parallel = await model.workers();
    const { fit, stepsTaken } = fitKillingAWorker(model, big.x, big.y, () => void parallel?.workers.kill(1));
    await expect(within(fit, 'fit with a killed worker')).rejects.toThrow(/kernel worker 1 exited/);
    expect(model.optimizer.iterations).toBe(before + stepsTaken());
    for (const w of weightsOf(model)) expect(w.every(Number.isFinite)).toBe(true);
    // New workers start for the next call.
    const history = await within(
      model.fit(big.x, big.y, { epochs: 1, batchSize: 64, verbose: 0 }),
      'fit after',
    );
    expect(history.history.loss?.[0]).toBeGreaterThan(0);
    expect(await model.workers()).not.toBe(parallel);
  });

  it("without the 'threads' kernel, hosts fit in one worker instead of splitting batches", async () => {
    const simd = await gw.Kernel.load('simd');
    const model = new gw.Sequential(simd);
    model.add(gw.layers.dense({ units: 1, inputShape: [3] }));
    model.compile({ optimizer: 'sgd', loss: 'mse', workers: 2 });
    expect(await model.workers()).toBeUndefined();
    const host = await within(model.trainingHost() as Promise<unknown>, 'training host');
    expect(host).toBeDefined();
    model.dispose();
  });
});

function gatherRows(t: gw.Tensor, rows: Uint32Array, width: number): Float32Array {
  const data = t.dataSync();
  const out = new Float32Array(rows.length * width);
  rows.forEach((r, i) => {
    out.set(data.subarray(r * width, (r + 1) * width), i * width);
  });
  return out;
}

function replicaLayers(model: gw.Sequential) {
  return model.layers.map((layer, i) => layerToJson(layer, i === 0 ? model.inputShape : undefined));
}

/**
 * The workers of `model`, made to take every predict batch: this file's
 * models are small enough that `predict` would otherwise keep them here.
 */
async function workersTakingEveryBatch(model: gw.Sequential): Promise<KernelWorkers> {
  const parallel = await model.workers();
  if (!parallel) throw new Error('the model has no workers');
  parallel.predictHereBelowFlop = 0;
  return parallel.workers;
}

describe('predict on workers', () => {
  it('splits batches across the workers and equals predicting on this thread', async () => {
    const { x } = dataset(77, 8);
    const here = build(0);
    const there = build(3);
    const workers = await workersTakingEveryBatch(there);
    const expected = await here.predict(x, { batchSize: 20 });
    const before = workers.trafficSoFar().messages;
    const got = await within(there.predict(x, { batchSize: 20 }), 'predict on 3 workers');
    expect(got.shape).toEqual(expected.shape);
    expect(got.dataSync()).toEqual(expected.dataSync());
    // A call and a reply per worker, per batch.
    expect(workers.trafficSoFar().messages - before).toBe(4 * 3 * 2);
  });

  it('keeps a batch too small to be worth sending on this thread, and sends a larger one', async () => {
    // One sequence of this model is 0.14 MFLOP (by the count `predict`
    // uses: every weight once per step): a round trip to a worker would cost
    // more than computing it, as would 77 (11 MFLOP); 400 are 55 MFLOP.
    const here = build(0);
    const there = build(2);
    const workers = (await there.workers())?.workers as KernelWorkers;
    const { x } = dataset(400, 9);
    for (const [batchSize, sent] of [
      [1, false],
      [77, false],
      [400, true],
    ] as const) {
      const before = workers.trafficSoFar().messages;
      const got = await within(there.predict(x, { batchSize }), `predict in batches of ${batchSize}`);
      expect(got.dataSync()).toEqual((await here.predict(x, { batchSize })).dataSync());
      expect(workers.trafficSoFar().messages > before).toBe(sent);
    }
  });

  it('splits each GRU by units for fewer sequences than workers, bit for bit as on this thread', async () => {
    const padded = dataset(5, 8).x.dataSync();
    padded.fill(0, 2 * I, 5 * I); // padded steps of sample 0, which the masked model skips
    const x = gw.tensor(padded, [5, T, I]);
    const resetAfter = (workers: number) => {
      gw.setRandomSeed(9);
      const model = gw.sequential();
      const gru = { resetAfter: true, recurrentInitializer: 'glorotUniform' } as const;
      model.add(
        gw.layers.gru({ ...gru, units: 20, inputShape: [T, I], goBackwards: true, returnSequences: true }),
      );
      model.add(gw.layers.gru({ ...gru, units: 7 }));
      model.add(gw.layers.dense({ units: 3, activation: 'softmax' }));
      model.compile({ optimizer: 'adam', loss: 'categoricalCrossentropy', workers });
      disposables.push(model);
      return model;
    };
    for (const make of [(workers: number) => build(workers, { masked: true }), resetAfter]) {
      const expected = (await make(0).predict(x, { batchSize: 5 })).dataSync();
      const there = make(3);
      const workers = await workersTakingEveryBatch(there);
      for (const batchSize of [1, 2]) {
        const before = workers.trafficSoFar().messages;
        const got = await within(there.predict(x, { batchSize }), `predict in batches of ${batchSize}`);
        expect(got.dataSync()).toEqual(expected);
        // A call and a reply per worker, per GRU layer, per batch.
        const batches = Math.ceil(5 / batchSize);
        expect(workers.trafficSoFar().messages - before).toBe(batches * 2 * 3 * 2);
      }
    }
  });

  it('takes concurrent calls a batch at a time: each gives what it gives alone', async () => {
    const model = build(2);
    await workersTakingEveryBatch(model);
    const inputs = [dataset(40, 21).x, dataset(33, 22).x, dataset(9, 23).x];
    const { x, y } = dataset(48, 24);
    const alone: Float32Array[] = [];
    for (const input of inputs) alone.push((await model.predict(input, { batchSize: 8 })).dataSync());
    const evaluated = await model.evaluate(x, y, { batchSize: 16 });
    const [together, evaluatedTogether] = await within(
      Promise.all([
        Promise.all(inputs.map((input) => model.predict(input, { batchSize: 8 }))),
        model.evaluate(x, y, { batchSize: 16 }),
      ]),
      'concurrent calls',
    );
    together.forEach((p, i) => {
      expect(p.dataSync()).toEqual(alone[i]);
    });
    expect(evaluatedTogether).toEqual(evaluated);
  });

  it('cancels a running batch when the model is disposed, and frees the model once its workers stop', async () => {
    const steps = 40_000;
    const before = gw.kernel().live();
    const model = gw.sequential();
    model.add(gw.layers.gru({ units: 64, inputShape: [steps, I] }));
    model.add(gw.layers.dense({ units: 1 }));
    model.compile({ optimizer: 'adam', loss: 'meanSquaredError', workers: 2 });
    const x = gw.tensor(randomUniform(14, 2 * steps * I), [2, steps, I]);
    (await within(model.predict(x), 'predict')).dispose(); // starts the workers
    const started = performance.now();
    (await within(model.predict(x), 'predict')).dispose();
    const callMs = performance.now() - started;
    const predicting = model.predict(x);
    await new Promise((resolve) => setTimeout(resolve, callMs / 4));
    const disposedAt = performance.now();
    model.dispose();
    await expect(within(predicting, 'a predict whose model was disposed')).rejects.toThrow(
      /gru_forward: cancelled: the worker running it was asked to stop/,
    );
    // The workers left the call at a step boundary, well before it would have ended.
    expect(performance.now() - disposedAt).toBeLessThan(callMs / 2);
    x.dispose();
    // The model's tensors and the workers' are freed once the workers have stopped.
    const deadline = performance.now() + 5_000;
    while (JSON.stringify(gw.kernel().live()) !== JSON.stringify(before) && performance.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(gw.kernel().live()).toEqual(before);
  });

  it('rejects when a worker dies during a split predict, stops the other part, and recovers', async () => {
    const steps = 40_000;
    const model = gw.sequential();
    model.add(gw.layers.gru({ units: 64, inputShape: [steps, I] }));
    model.add(gw.layers.dense({ units: 1 }));
    model.compile({ optimizer: 'adam', loss: 'meanSquaredError', workers: 2 });
    disposables.push(model);
    const x = gw.tensor(randomUniform(13, steps * I), [1, steps, I]);
    const first = (await within(model.predict(x), 'split predict')).dataSync();
    // The fastest of two calls: the kill must land inside the next one even
    // when another process slowed one of these.
    let callMs = Number.POSITIVE_INFINITY;
    for (let i = 0; i < 2; i++) {
      const started = performance.now();
      const timed = await within(model.predict(x), 'split predict');
      callMs = Math.min(callMs, performance.now() - started);
      expect(timed.dataSync()).toEqual(first);
    }
    const parallel = await model.workers();
    const killedAt = performance.now();
    const predicting = model.predict(x);
    setTimeout(() => void parallel?.workers.kill(1), callMs / 8);
    await expect(within(predicting, 'predict with a killed worker')).rejects.toThrow(
      /kernel worker 1 exited/,
    );
    // The surviving part was told to stop: it did not wait out its 10 s limit.
    expect(performance.now() - killedAt).toBeLessThan(callMs + 2_000);
    const again = await within(model.predict(x), 'predict after a worker died');
    expect(again.dataSync()).toEqual(first);
  });
});
