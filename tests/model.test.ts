/** The model API's behaviour: errors, memory, determinism, callbacks, weights. */
import { beforeAll, describe, expect, it } from 'vitest';
import * as gw from '../ts/index.js';
import { randomUniform } from './support/random.js';

const [N, T, I, H] = [60, 5, 3, 6];

beforeAll(async () => {
  await gw.ready();
});

function build(options: { seed?: number; metrics?: string[]; optimizer?: gw.optimizers.Optimizer } = {}) {
  if (options.seed !== undefined) gw.setRandomSeed(options.seed);
  const model = gw.sequential();
  model.add(gw.layers.gru({ units: H, inputShape: [T, I], returnSequences: true }));
  model.add(gw.layers.gru({ units: H }));
  model.add(gw.layers.dense({ units: 1, activation: 'sigmoid' }));
  model.compile({
    optimizer: options.optimizer ?? gw.optimizers.adam({ learningRate: 0.01 }),
    loss: 'binaryCrossentropy',
    metrics: options.metrics ?? ['accuracy'],
  });
  return model;
}

function dataset(n = N, seed = 1) {
  const x = randomUniform(seed, n * T * I);
  // A learnable rule: the sign of the sum of the first feature.
  const y = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let t = 0; t < T; t++) s += x[(i * T + t) * I] as number;
    y[i] = s > 0 ? 1 : 0;
  }
  return { x: gw.tensor(x, [n, T, I]), y: gw.tensor(y, [n, 1]) };
}

describe('errors', () => {
  it('names what is wrong and leaves the model usable', async () => {
    const model = build();
    const { x, y } = dataset();
    const uncompiled = gw.sequential();
    uncompiled.add(gw.layers.dense({ units: 1, inputShape: [4] }));
    await expect(
      uncompiled.fit(gw.tensor(new Float32Array(8), [2, 4]), gw.tensor([1, 0], [2, 1])),
    ).rejects.toThrow('the model must be compiled before training');
    const wrongRank = gw.tensor(new Float32Array(N * T), [N, T]);
    await expect(model.fit(wrongRank, y)).rejects.toThrow(
      `fit: x must have shape [samples, ${T}, ${I}], got [${N}, ${T}]`,
    );
    const fewer = gw.tensor(new Float32Array(10), [10, 1]);
    await expect(model.fit(x, fewer)).rejects.toThrow(`fit: x has ${N} samples but y has 10`);
    const wide = gw.tensor(new Float32Array(N * 2), [N, 2]);
    await expect(model.fit(x, wide)).rejects.toThrow('fit: y must have shape [samples, 1]');
    const nan = new Float32Array(N * T * I);
    nan[I * T * 3 + 1] = Number.NaN;
    await expect(model.fit(gw.tensor(nan, [N, T, I]), y)).rejects.toThrow('fit: x contains NaN at sample 3');
    expect(() => model.compile({ optimizer: 'adamax', loss: 'binaryCrossentropy' })).toThrow(
      "unknown optimizer 'adamax'",
    );
    expect(() => model.compile({ optimizer: 'adam', loss: 'focal' as 'mse' })).toThrow(
      "unknown loss 'focal'",
    );
    expect(() => model.compile({ optimizer: 'adam', loss: 'mse', metrics: ['f1'] })).toThrow(
      "unknown metric 'f1'",
    );
    expect(() => gw.optimizers.adam({ clipnorm: 1, clipvalue: 1 })).toThrow(
      'set only one of clipnorm, clipvalue, globalClipnorm',
    );
    expect(() => gw.tensor([1, 2, 3], [2, 2])).toThrow('tensor: shape [2, 2] needs 4 values, got 3');
    await expect(model.fit(x, y, { batchSize: 0 })).rejects.toThrow(
      '`batchSize` must be a positive integer, got 0',
    );
    const second = gw.sequential();
    expect(() => second.add(gw.layers.gru({ units: 3 }))).toThrow('the first layer (gru_');
    const disposed = gw.tensor([1, 2], [2, 1]);
    disposed.dispose();
    await expect(disposed.data()).rejects.toThrow('was disposed');
    // Still usable after all of that.
    const history = await model.fit(x, y, { epochs: 1, verbose: 0 });
    expect(history.history.loss?.[0]).toBeGreaterThan(0);
    for (const t of [x, y, wrongRank, fewer, wide]) t.dispose();
    model.dispose();
  });

  it('stops on a non-finite loss, naming the epoch and batch', async () => {
    // A linear model with an absurd learning rate: its weights overflow.
    const model = gw.sequential();
    model.add(gw.layers.dense({ units: 1, inputShape: [4] }));
    model.compile({ optimizer: gw.optimizers.sgd({ learningRate: 1e10 }), loss: 'meanSquaredError' });
    const x = gw.tensor(randomUniform(3, 40 * 4, 1, 2), [40, 4]);
    const y = gw.tensor(new Float32Array(40), [40, 1]);
    await expect(model.fit(x, y, { epochs: 5, batchSize: 10, verbose: 0 })).rejects.toThrow(
      /fit: the loss became (NaN|Infinity) at epoch \d+, batch \d+/,
    );
    model.dispose();
    x.dispose();
    y.dispose();
  });
});

describe('training', () => {
  it('reports history, validation and metrics, and learns', async () => {
    const model = build({ seed: 1 });
    const { x, y } = dataset(200);
    const history = await model.fit(x, y, {
      epochs: 30,
      batchSize: 16,
      validationSplit: 0.2,
      seed: 2,
      verbose: 0,
    });
    expect(Object.keys(history.history).sort()).toEqual(['acc', 'loss', 'val_acc', 'val_loss']);
    expect(history.epoch).toEqual([...Array(30).keys()]);
    const acc = history.history.acc as number[];
    expect(acc[acc.length - 1]).toBeGreaterThan(0.9);
    const [loss, accuracy] = (await model.evaluate(x, y)) as number[];
    expect(loss).toBeLessThan(0.3);
    expect(accuracy).toBeGreaterThan(0.9);
    const p = await model.predict(x, { batchSize: 7 });
    expect(p.shape).toEqual([200, 1]);
    const values = await p.data();
    expect(values.every((v) => v > 0 && v < 1)).toBe(true);
    p.dispose();
    model.dispose();
    x.dispose();
    y.dispose();
  });

  it('weighs samples: the loss is Σ wᵢ·lossᵢ / N and zero-weight samples change nothing', async () => {
    const { x, y } = dataset(12);
    const weights = Float32Array.from({ length: 12 }, (_, i) => (i % 3 === 0 ? 0 : i % 3));
    const sampleWeight = gw.tensor(weights, [12]);
    const model = build({ seed: 12, optimizer: gw.optimizers.sgd({ learningRate: 0.5 }) });
    const prediction = await model.predict(x);
    const p = await prediction.data();
    prediction.dispose();
    const labels = await y.data();
    const expected =
      weights.reduce((sum, w, i) => {
        const q = Math.min(Math.max(p[i] as number, 1e-7), 1 - 1e-7);
        const l = labels[i] === 1 ? -Math.log(q) : -Math.log(1 - q);
        return sum + w * l;
      }, 0) / 12;
    const history = await model.fit(x, y, { batchSize: 12, shuffle: false, verbose: 0, sampleWeight });
    expect(history.history.loss?.[0]).toBeCloseTo(expected, 5);

    // Replace the zero-weight samples' inputs: training ends the same.
    const final = async (inputs: gw.Tensor) => {
      const m = build({ seed: 13, optimizer: gw.optimizers.sgd({ learningRate: 0.5 }) });
      await m.fit(inputs, y, { epochs: 3, batchSize: 12, shuffle: false, verbose: 0, sampleWeight });
      const w = m.snapshotWeights();
      m.dispose();
      return w;
    };
    const altered = await x.data();
    for (let i = 0; i < 12; i += 3) altered.fill(5, i * T * I, (i + 1) * T * I);
    const x2 = gw.tensor(altered, [12, T, I]);
    expect(await final(x2)).toEqual(await final(x));
    await expect(model.fit(x, y, { sampleWeight: gw.tensor([1, 2], [2]), verbose: 0 })).rejects.toThrow(
      'fit: sampleWeight must have shape [12], got [2]',
    );
    for (const [bad, at] of [
      [-1, 4],
      [Number.NaN, 0],
      [Number.POSITIVE_INFINITY, 11],
    ] as const) {
      const weights = new Float32Array(12).fill(1);
      weights[at] = bad;
      const badWeights = gw.tensor(weights, [12]);
      await expect(model.fit(x, y, { sampleWeight: badWeights, verbose: 0 })).rejects.toThrow(
        `fit: sampleWeight has a negative or non-finite weight at index ${at}`,
      );
      badWeights.dispose();
    }
    for (const t of [x, y, x2, sampleWeight]) t.dispose();
    model.dispose();
  });

  it('trainOnBatch returns the loss before the update', async () => {
    const model = build({ seed: 3 });
    const { x, y } = dataset(16);
    const before = (await model.evaluate(x, y, { batchSize: 16 })) as number[];
    const reported = await model.trainOnBatch(x, y);
    const after = (await model.evaluate(x, y, { batchSize: 16 })) as number[];
    expect(reported).toBeCloseTo(before[0] as number, 6);
    expect(after[0]).not.toBeCloseTo(before[0] as number, 6);
    model.dispose();
    x.dispose();
    y.dispose();
  });

  it('is bit-identical for the same seeds', async () => {
    const run = async () => {
      const model = build({ seed: 11 });
      const { x, y } = dataset();
      await model.fit(x, y, { epochs: 3, batchSize: 8, seed: 5, verbose: 0 });
      const weights = model.snapshotWeights();
      model.dispose();
      x.dispose();
      y.dispose();
      return weights;
    };
    const [a, b] = [await run(), await run()];
    expect(b).toEqual(a);
  });

  it('keeps memory flat over 1,000 steps', async () => {
    const model = build({ seed: 4 });
    const { x, y } = dataset(); // 60 samples: 7 batches of 8 and one of 4
    let afterFirstEpoch = 0;
    await model.fit(x, y, {
      epochs: 125,
      batchSize: 8,
      verbose: 0,
      callbacks: {
        onEpochEnd: (epoch) => {
          if (epoch === 0) afterFirstEpoch = gw.kernel().live().bytes;
        },
      },
    });
    expect(model.optimizer.iterations).toBe(1000);
    expect(gw.kernel().live().bytes).toBe(afterFirstEpoch);
    const before = gw.kernel().live().tensors;
    model.dispose();
    x.dispose();
    y.dispose();
    expect(gw.kernel().live().tensors).toBeLessThan(before);
  });
});

describe('inference', () => {
  it('predicts a sequence bit for bit the same alone as inside any batch', async () => {
    // Batches of 13, 7, 6 and 5 leave 1 to 3 rows in the matrix products'
    // last 4-row tile; batches of 1 to 3 are products over a few rows read
    // in place: each takes a different path through the kernel, summing in
    // the same order.
    gw.setRandomSeed(4);
    const model = gw.sequential();
    model.add(gw.layers.gru({ units: 37, inputShape: [9, 11], returnSequences: true, resetAfter: true }));
    model.add(gw.layers.gru({ units: 45 }));
    model.add(gw.layers.dense({ units: 3, activation: 'softmax' }));
    model.compile({ optimizer: 'adam', loss: 'categoricalCrossentropy' });
    const n = 13;
    const values = randomUniform(5, n * 9 * 11);
    const x = gw.tensor(values, [n, 9, 11]);
    const predictions = async (batchSize: number) => {
      const p = await model.predict(x, { batchSize });
      const data = await p.data();
      p.dispose();
      return data;
    };
    const whole = await predictions(n);
    for (const batchSize of [7, 6, 5, 3, 2, 1]) expect(await predictions(batchSize)).toEqual(whole);
    const alone = gw.tensor(values.slice(6 * 9 * 11, 7 * 9 * 11), [1, 9, 11]);
    const one = await model.predict(alone);
    expect(await one.data()).toEqual(whole.slice(6 * 3, 7 * 3));
    for (const t of [x, alone, one]) t.dispose();
    model.dispose();
  });

  it('predicts when its forward grows the memory', async () => {
    // A fresh kernel's memory is small: the first forward's buffers grow it,
    // which detaches every view taken before (the output's view once was).
    const kernel = await gw.Kernel.load('simd');
    const model = new gw.Sequential(kernel);
    model.add(gw.layers.gru({ units: 64, inputShape: [200, 4], returnSequences: true }));
    model.add(gw.layers.gru({ units: 8 }));
    model.add(gw.layers.dense({ units: 2 }));
    const x = gw.tensor(randomUniform(6, 32 * 200 * 4), [32, 200, 4], { kernel });
    const before = kernel.memory.buffer.byteLength;
    const first = await model.predict(x);
    expect(kernel.memory.buffer.byteLength).toBeGreaterThan(before);
    const again = await model.predict(x);
    expect(await first.data()).toEqual(await again.data());
    expect(Array.from(await first.data()).every(Number.isFinite)).toBe(true);
    for (const t of [x, first, again]) t.dispose();
    model.dispose();
  });
});

describe('callbacks', () => {
  it('earlyStopping restores the best weights', async () => {
    const model = build({ seed: 6 });
    const { x, y } = dataset();
    const scores = [3, 1, 2, 4, 5, 6];
    const snapshots: Float32Array[][] = [];
    const order: string[] = [];
    await model.fit(x, y, {
      epochs: 6,
      batchSize: 20,
      verbose: 0,
      callbacks: [
        {
          onTrainBegin: () => void order.push('trainBegin'),
          onEpochBegin: (e) => void order.push(`epochBegin ${e}`),
          onBatchEnd: (b) => void order.push(`batchEnd ${b}`),
          onEpochEnd: (epoch, logs) => {
            order.push(`epochEnd ${epoch}`);
            logs.score = scores[epoch] as number;
            snapshots.push(model.snapshotWeights());
          },
          onTrainEnd: () => void order.push('trainEnd'),
        },
        gw.callbacks.earlyStopping({ monitor: 'score', patience: 2, restoreBestWeights: true }),
      ],
    });
    // Best at epoch 1; epochs 2 and 3 do not improve: stop after epoch 3.
    expect(order).toEqual([
      'trainBegin',
      ...[0, 1, 2, 3].flatMap((e) => [
        `epochBegin ${e}`,
        'batchEnd 0',
        'batchEnd 1',
        'batchEnd 2',
        `epochEnd ${e}`,
      ]),
      'trainEnd',
    ]);
    expect(model.snapshotWeights()).toEqual(snapshots[1]);
    expect(model.snapshotWeights()).not.toEqual(snapshots[3]);
    model.dispose();
    x.dispose();
    y.dispose();
  });

  it('reduceLROnPlateau lowers the learning rate after a plateau', async () => {
    const model = build({ seed: 8, optimizer: gw.optimizers.sgd({ learningRate: 0.1 }) });
    const { x, y } = dataset();
    await model.fit(x, y, {
      epochs: 4,
      verbose: 0,
      callbacks: [
        {
          onEpochEnd: (_e, logs) => {
            logs.flat = 1;
          },
        },
        gw.callbacks.reduceLROnPlateau({ monitor: 'flat', patience: 1, factor: 0.5, minLr: 0.02 }),
      ],
    });
    // Epoch 0 sets the best; epochs 1, 2, 3 halve the rate, floored at 0.02.
    expect(model.optimizer.currentLearningRate).toBeCloseTo(0.02, 10);
    model.dispose();
    x.dispose();
    y.dispose();
  });
});

describe('weights and schedules', () => {
  it('getWeights / setWeights in Keras order', async () => {
    const model = build({ seed: 9 });
    const weights = model.getWeights();
    expect(weights.map((w) => w.shape)).toEqual([
      [I, 3 * H],
      [H, 3 * H],
      [3 * H],
      [H, 3 * H],
      [H, 3 * H],
      [3 * H],
      [H, 1],
      [1],
    ]);
    const zeros = weights.map((w) => new Float32Array(w.size));
    model.setWeights(zeros);
    expect(model.snapshotWeights()).toEqual(zeros);
    model.setWeights(weights);
    expect(model.snapshotWeights()).toEqual(weights.map((w) => w.dataSync()));
    expect(() => model.setWeights(weights.slice(1))).toThrow(/^setWeights: the model has 8 weights, got 7$/);
    expect(() => model.setWeights([new Float32Array(3), ...zeros.slice(1)])).toThrow(`setWeights: gru`);
    // A refused setWeights changes nothing.
    expect(model.snapshotWeights()).toEqual(weights.map((w) => w.dataSync()));
    for (const w of weights) w.dispose();
    const text = model.summary(() => {});
    expect(text).toContain('Total params: 421');
    model.dispose();
  });

  it('schedules follow Keras', () => {
    const exp = gw.schedules.exponentialDecay({ initialLearningRate: 0.1, decaySteps: 10, decayRate: 0.5 });
    expect(exp(0)).toBe(0.1);
    expect(exp(10)).toBeCloseTo(0.05, 12);
    expect(exp(5)).toBeCloseTo(0.1 * Math.SQRT1_2, 12);
    const stairs = gw.schedules.exponentialDecay({
      initialLearningRate: 0.1,
      decaySteps: 10,
      decayRate: 0.5,
      staircase: true,
    });
    expect(stairs(19)).toBeCloseTo(0.05, 12);
    const cos = gw.schedules.cosineDecay({ initialLearningRate: 1, decaySteps: 100, alpha: 0.1 });
    expect(cos(0)).toBe(1);
    expect(cos(50)).toBeCloseTo(0.55, 12);
    expect(cos(200)).toBeCloseTo(0.1, 12);
    const pw = gw.schedules.piecewiseConstant({ boundaries: [10, 20], values: [1, 0.5, 0.1] });
    expect([pw(0), pw(10), pw(11), pw(20), pw(21)]).toEqual([1, 1, 0.5, 0.5, 0.1]);
  });
});
