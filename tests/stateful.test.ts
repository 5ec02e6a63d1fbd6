/**
 * Stateful GRUs (Keras' `stateful`): each sequence's final state is the
 * next batch's initial state, row by row. Against two oracles: the same
 * sequences fed whole to a model that is not stateful, and TensorFlow.js'
 * stateful GRU on identical weights (predictions, and training steps);
 * saved and loaded both ways; and the errors that keep a call from
 * advancing a state it cannot carry.
 */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as gw from '../ts/index.js';
import { flatWeights, maxAbsDiff } from './support/compare.js';
import { randomUniform } from './support/random.js';
import { loadIntoTfjs, saveTfjsModel } from './support/tfjs-files.js';
import { within } from './support/within.js';

const [B, I, H] = [3, 4, 5];
const dir = mkdtempSync(join(tmpdir(), 'gru-wasm-stateful-'));

beforeAll(async () => {
  await tf.setBackend('cpu');
  await gw.ready();
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** Steps `from .. to` of every sequence of `x` (`[B, steps, I]`), as `[B, to − from, I]`. */
function stepsOf(x: Float32Array, steps: number, from: number, to: number): Float32Array {
  const out = new Float32Array(B * (to - from) * I);
  for (let b = 0; b < B; b++)
    out.set(x.subarray((b * steps + from) * I, (b * steps + to) * I), b * (to - from) * I);
  return out;
}

/** GRU (sequences) → Dense(2) over any number of steps, stateful or not, with the same weights. */
function model(stateful: boolean, resetAfter: boolean): gw.Sequential {
  gw.setRandomSeed(5);
  const m = gw.sequential();
  m.add(
    gw.layers.gru({
      units: H,
      returnSequences: true,
      resetAfter,
      stateful,
      inputShape: [null, I],
      ...(stateful ? { batchSize: B } : {}),
    }),
  );
  m.add(gw.layers.dense({ units: 2 }));
  return m;
}

/** A stateful GRU(H) → Dense(outputs) over chunks of `steps` steps, batches of B. */
function streamModel(seed: number, steps: number, outputs = 1): gw.Sequential {
  gw.setRandomSeed(seed);
  const m = gw.sequential();
  m.add(gw.layers.gru({ units: H, stateful: true, inputShape: [steps, I], batchSize: B }));
  m.add(gw.layers.dense({ units: outputs }));
  return m;
}

describe('a stateful GRU', () => {
  it('predicts a sequence fed in chunks as the whole sequence at once, and starts again after resetStates', async () => {
    for (const resetAfter of [false, true]) {
      const stateful = model(true, resetAfter);
      const whole = model(false, resetAfter);
      expect(stateful.stateful).toBe(true);
      expect(stateful.batchSize).toBe(B);
      expect(stateful.summary(() => {})).toContain('[3, null, 5]');
      expect(flatWeights(stateful)).toEqual(flatWeights(whole));
      const steps = 12;
      const x = randomUniform(3, B * steps * I);
      const expected = (await whole.predict(gw.tensor(x, [B, steps, I]))).dataSync();
      const chunks = [
        [0, 5],
        [5, 9],
        [9, 12],
      ] as const;
      const outputs: Float32Array[] = [];
      for (const [from, to] of chunks) {
        const chunk = gw.tensor(stepsOf(x, steps, from, to), [B, to - from, I]);
        const out = await stateful.predict(chunk);
        expect(out.shape).toEqual([B, to - from, 2]);
        outputs.push(out.dataSync());
      }
      // Row b's outputs are its chunks' outputs one after the other.
      const joined = new Float32Array(expected.length);
      for (let b = 0; b < B; b++) {
        let at = b * steps * 2;
        for (const [c, [from, to]] of chunks.entries()) {
          const rows = (outputs[c] as Float32Array).subarray(b * (to - from) * 2, (b + 1) * (to - from) * 2);
          joined.set(rows, at);
          at += rows.length;
        }
      }
      expect(maxAbsDiff(joined, expected)).toBeLessThan(1e-6);

      stateful.resetStates();
      const again = await stateful.predict(gw.tensor(stepsOf(x, steps, 0, 5), [B, 5, I]));
      expect(Array.from(again.dataSync())).toEqual(Array.from(outputs[0] as Float32Array));
      stateful.dispose();
      whole.dispose();
    }
  });

  it('predicts and trains as TensorFlow.js’ stateful GRU, its state carried through training steps', async () => {
    const T = 4;
    gw.setRandomSeed(8);
    const ours = gw.sequential();
    ours.add(gw.layers.masking({ inputShape: [T, I], batchSize: B }));
    ours.add(gw.layers.gru({ units: H, stateful: true }));
    ours.add(gw.layers.dense({ units: 1, activation: 'sigmoid' }));
    ours.compile({ optimizer: gw.optimizers.sgd({ learningRate: 0.5 }), loss: 'binaryCrossentropy' });
    const theirs = tf.sequential();
    theirs.add(tf.layers.masking({ batchInputShape: [B, T, I] }));
    theirs.add(tf.layers.gru({ units: H, stateful: true, recurrentActivation: 'sigmoid' }));
    theirs.add(tf.layers.dense({ units: 1, activation: 'sigmoid' }));
    theirs.compile({ optimizer: tf.train.sgd(0.5), loss: 'binaryCrossentropy' });
    theirs.setWeights(ours.getWeights().map((w) => tf.tensor(w.dataSync(), [...w.shape])));

    const chunk = (seed: number) => {
      const x = randomUniform(seed, B * T * I);
      // Row 1's last step of every chunk is padding: its state carries over it.
      x.fill(0, (1 * T + T - 1) * I, (1 * T + T) * I);
      return x;
    };
    for (const seed of [1, 2, 3]) {
      const x = chunk(seed);
      const predicted = (await ours.predict(gw.tensor(x, [B, T, I]))).dataSync();
      const expected = (theirs.predict(tf.tensor3d(x, [B, T, I])) as tf.Tensor).dataSync();
      expect(maxAbsDiff(predicted, expected)).toBeLessThan(1e-5);
    }
    ours.resetStates();
    theirs.resetStates();
    for (const seed of [4, 5, 6]) {
      const x = chunk(seed);
      const y = Float32Array.from({ length: B }, (_, b) => (b + seed) % 2);
      const loss = await ours.trainOnBatch(gw.tensor(x, [B, T, I]), gw.tensor(y, [B, 1]));
      const theirLoss = (await theirs.trainOnBatch(
        tf.tensor3d(x, [B, T, I]),
        tf.tensor2d(y, [B, 1]),
      )) as number;
      expect(Math.abs(loss - theirLoss)).toBeLessThan(1e-5);
      const theirWeights = theirs.getWeights().flatMap((w) => Array.from(w.dataSync()));
      expect(maxAbsDiff(flatWeights(ours), theirWeights)).toBeLessThan(1e-5);
    }
    // The state after training carries into the next prediction in both.
    const x = chunk(7);
    const predicted = (await ours.predict(gw.tensor(x, [B, T, I]))).dataSync();
    const expected = (theirs.predict(tf.tensor3d(x, [B, T, I])) as tf.Tensor).dataSync();
    expect(maxAbsDiff(predicted, expected)).toBeLessThan(1e-5);
    ours.dispose();
  });

  it('fits with the model’s batch size by default, and a state can be set', async () => {
    const T = 3;
    const m = streamModel(2, T);
    m.compile({ optimizer: 'adam', loss: 'mse' });
    const x = gw.tensor(randomUniform(9, 2 * B * T * I), [2 * B, T, I]);
    const y = gw.tensor(randomUniform(10, 2 * B), [2 * B, 1]);
    const history = await m.fit(x, y, { epochs: 2, shuffle: false, verbose: 0 });
    expect(history.history.loss).toHaveLength(2);
    expect(await m.evaluate(x, y)).toBeGreaterThan(0);

    // A set state is the initial state the next call starts from.
    const gruLayer = m.layers[0] as gw.layers.Gru;
    const state = gw.tensor(randomUniform(11, B * H), [B, H]);
    const one = gw.tensor(randomUniform(12, B * T * I), [B, T, I]);
    gruLayer.resetStates(state);
    const fromSet = (gruLayer.apply(one) as gw.Tensor).dataSync();
    const fromGiven = (gruLayer.apply(one, { initialState: state }) as gw.Tensor).dataSync();
    expect(Array.from(fromSet)).toEqual(Array.from(fromGiven));
    m.resetStates();
    const fromZeros = (gruLayer.apply(one) as gw.Tensor).dataSync();
    expect(maxAbsDiff(fromZeros, fromSet)).toBeGreaterThan(1e-3);
    expect(() => gruLayer.resetStates(gw.tensor(new Float32Array((B + 1) * H), [B + 1, H]))).toThrow(
      /state must have shape \[3, 5\]/,
    );
    m.dispose();
  });

  it('saves and loads with its batch size, and crosses to and from TensorFlow.js', async () => {
    const T = 3;
    const ours = streamModel(4, T);
    const target = join(dir, 'ours');
    await ours.save(target);
    const loaded = await gw.loadModel(target);
    expect(loaded.stateful).toBe(true);
    expect(loaded.batchSize).toBe(B);
    const { model: inTfjs, json } = await loadIntoTfjs(target);
    const first = json.modelTopology.config.layers[0]?.config ?? {};
    expect(first.stateful).toBe(true);
    expect(first.batch_input_shape).toEqual([B, T, I]);
    for (const seed of [1, 2]) {
      const x = randomUniform(seed, B * T * I);
      const a = (await ours.predict(gw.tensor(x, [B, T, I]))).dataSync();
      const b = (await loaded.predict(gw.tensor(x, [B, T, I]))).dataSync();
      const c = (inTfjs.predict(tf.tensor3d(x, [B, T, I])) as tf.Tensor).dataSync();
      expect(Array.from(b)).toEqual(Array.from(a));
      expect(maxAbsDiff(a, c)).toBeLessThan(1e-5);
    }

    // Keras' own layout: the batch shape on an InputLayer before the GRU.
    const [gruJson, ...rest] = json.modelTopology.config.layers as { class_name: string; config: object }[];
    const { batch_input_shape: _declared, ...gruConfig } = (gruJson?.config ?? {}) as Record<string, unknown>;
    const inputLayer = { class_name: 'InputLayer', config: { batch_input_shape: [B, T, I], name: 'input' } };
    const kerasLayout = {
      ...json,
      modelTopology: {
        ...json.modelTopology,
        config: {
          ...json.modelTopology.config,
          layers: [inputLayer, { ...gruJson, config: gruConfig }, ...rest],
        },
      },
    };
    const kerasTarget = join(dir, 'keras-layout');
    mkdirSync(kerasTarget);
    writeFileSync(join(kerasTarget, 'model.json'), JSON.stringify(kerasLayout));
    copyFileSync(join(target, 'weights.bin'), join(kerasTarget, 'weights.bin'));
    const fromKeras = await gw.loadModel(kerasTarget);
    expect(fromKeras.batchSize).toBe(B);
    ours.resetStates();
    for (const seed of [1, 2]) {
      const x = gw.tensor(randomUniform(seed, B * T * I), [B, T, I]);
      const a = (await ours.predict(x)).dataSync();
      expect(Array.from((await fromKeras.predict(x)).dataSync())).toEqual(Array.from(a));
    }
    fromKeras.dispose();

    const theirs = tf.sequential();
    theirs.add(
      tf.layers.gru({ units: H, stateful: true, batchInputShape: [B, T, I], recurrentActivation: 'sigmoid' }),
    );
    const theirTarget = join(dir, 'theirs');
    await saveTfjsModel(theirs, theirTarget);
    const fromTfjs = await gw.loadModel(theirTarget);
    expect(fromTfjs.stateful).toBe(true);
    for (const seed of [3, 4]) {
      const x = randomUniform(seed, B * T * I);
      const a = (await fromTfjs.predict(gw.tensor(x, [B, T, I]))).dataSync();
      const c = (theirs.predict(tf.tensor3d(x, [B, T, I])) as tf.Tensor).dataSync();
      expect(maxAbsDiff(a, c)).toBeLessThan(1e-5);
    }
    for (const m of [ours, loaded, fromTfjs]) m.dispose();
  });

  it('streams through a one-worker inference pool, shared or copied, resetStates in call order', async () => {
    const T = 3;
    const before = gw.kernel().live();
    for (const memory of ['shared', 'copied'] as const) {
      const m = streamModel(21, T, 2);
      const chunks = [1, 2, 3].map((seed) => gw.tensor(randomUniform(seed, B * T * I), [B, T, I]));
      const pool = await within(gw.createInferencePool(m, { memory }), 'create');
      expect(pool.size).toBe(1);
      const values = async (t: Promise<gw.Tensor>) => {
        const tensor = await t;
        const out = Array.from(tensor.dataSync());
        tensor.dispose();
        return out;
      };
      // Issued at once: they run in call order, the reset between them.
      const calls = [
        ...chunks.map((c) => values(pool.predict(c))),
        pool.resetStates().then(() => []),
        values(pool.predict(chunks[0] as gw.Tensor)),
      ];
      const served = await within(Promise.all(calls), 'stream');
      const expected = [];
      for (const c of chunks) expected.push(await values(m.predict(c)));
      m.resetStates();
      expected.push([], await values(m.predict(chunks[0] as gw.Tensor)));
      expect(served).toEqual(expected);
      expect(served[4]).toEqual(served[0]);

      const wrong = gw.tensor(randomUniform(4, (B - 1) * T * I), [B - 1, T, I]);
      await expect(pool.predict(wrong)).rejects.toThrow(/batchSize must be 3 \(got 2\)/);
      // The worker dies with the states: refused until they are reset.
      await pool.killWorker(0);
      await expect(within(pool.predict(chunks[1] as gw.Tensor), 'call')).rejects.toThrow(
        /kernel worker 0 exited/,
      );
      await expect(within(pool.predict(chunks[1] as gw.Tensor), 'call')).rejects.toThrow(
        /the worker carrying the stateful model’s states died.*call resetStates\(\)/,
      );
      await within(pool.resetStates(), 'reset');
      expect(await within(values(pool.predict(chunks[0] as gw.Tensor)), 'call')).toEqual(served[0]);
      await expect(gw.createInferencePool(m, { size: 2, memory })).rejects.toThrow(/size 1, got 2/);
      await within(pool.dispose(), 'dispose');
      m.dispose();
      for (const t of [...chunks, wrong]) t.dispose();
    }
    expect(gw.kernel().live()).toEqual(before);
  });

  it('refuses what it cannot carry, before any state advances, and frees its state', async () => {
    const T = 3;
    const kernel = gw.kernel();
    const live = kernel.live();
    const noBatch = gw.sequential();
    expect(() => noBatch.add(gw.layers.gru({ units: H, stateful: true, inputShape: [T, I] }))).toThrow(
      /stateful: the model needs a fixed batch size/,
    );
    expect(() => gw.layers.bidirectional({ layer: gw.layers.gru({ units: H, stateful: true }) })).toThrow(
      /a stateful GRU cannot be wrapped/,
    );

    gw.setRandomSeed(6);
    const m = gw.sequential();
    m.add(gw.layers.gru({ units: H, stateful: true, inputShape: [T, I], batchSize: B }));
    expect(() => m.compile({ optimizer: 'sgd', loss: 'mse', workers: 2 })).toThrow(
      /stateful GRU computes on this thread/,
    );
    await expect(gw.createInferencePool(m, { size: 3 })).rejects.toThrow(/stateful GRU.*size 1, got 3/);
    m.compile({ optimizer: 'sgd', loss: 'mse' });

    const x = gw.tensor(randomUniform(1, B * T * I), [B, T, I]);
    const values = async (tensor: Promise<gw.Tensor>) => {
      const t = await tensor;
      const out = Array.from(t.dataSync());
      t.dispose();
      return out;
    };
    const first = await values(m.predict(x));
    m.resetStates();
    const more = gw.tensor(randomUniform(2, (B + 1) * T * I), [B + 1, T, I]);
    const moreY = gw.tensor(new Float32Array((B + 1) * H), [B + 1, H]);
    await expect(m.predict(more)).rejects.toThrow(
      /batchSize must be 3 \(got 3\) and the number of samples a multiple of it \(got 4\)/,
    );
    await expect(m.predict(x, { batchSize: 1 })).rejects.toThrow(/batchSize must be 3 \(got 1\)/);
    await expect(m.fit(more, moreY, { verbose: 0 })).rejects.toThrow(/fit: .*multiple of it \(got 4\)/);
    await expect(m.trainOnBatch(more, moreY)).rejects.toThrow(
      /trainOnBatch: .*batchSize must be 3 \(got 4\)/,
    );
    expect(() => (m.layers[0] as gw.layers.Gru).apply(more)).toThrow(
      /every batch must hold 3 sequences, got 4/,
    );
    // None of the refused calls advanced the state: the next prediction starts from zeros.
    expect(await values(m.predict(x))).toEqual(first);
    m.dispose();
    for (const t of [x, more, moreY]) t.dispose();
    expect(kernel.live()).toEqual(live);
  });
});
