/**
 * One training step of the seed's model, GRU(H) → Dense(1, sigmoid), binary
 * cross-entropy, Adam, in gru-wasm and in TensorFlow.js (cpu and wasm
 * backends) on the same batch, through each library's public API.
 */
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import * as gw from '../ts/index.js';
import { type Timing, timeAsync, timeInterleaved } from './harness.js';

export interface Config {
  name: string;
  batch: number;
  steps: number;
  input: number;
  units: number;
}

export function uniform(seed: number, length: number): Float32Array {
  let state = seed >>> 0;
  return Float32Array.from({ length }, () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32 - 0.5;
  });
}

function batchOf(c: Config) {
  return {
    x: uniform(1, c.batch * c.steps * c.input),
    y: Float32Array.from(uniform(2, c.batch), (v) => (v > 0 ? 1 : 0)),
  };
}

/** A training step, a batch prediction, and one sequence's prediction (latency). */
export interface SystemTimings {
  train: Timing;
  predict: Timing;
  latency: Timing;
}

type Repeat = { warmup: number; reps: number };

/**
 * gru-wasm on this thread (`workers` 0) and on kernel workers (each batch
 * split between them), one model per entry of `workerCounts`, measured in
 * alternation. The 'threads' build serves both (it runs one thread as fast
 * as the 'simd' build: part 2 of the bench compares them).
 */
export async function gruWasmTimings(
  c: Config,
  workerCounts: readonly number[],
  options: Repeat,
): Promise<SystemTimings[]> {
  await gw.ready('threads');
  const { x, y } = batchOf(c);
  const models = workerCounts.map((workers) => {
    const model = gw.sequential();
    model.add(gw.layers.gru({ units: c.units, inputShape: [c.steps, c.input] }));
    model.add(gw.layers.dense({ units: 1, activation: 'sigmoid' }));
    model.compile({ optimizer: 'adam', loss: 'binaryCrossentropy', workers });
    return model;
  });
  // Started before timing: their start-up is not a step.
  for (const model of models) await model.workers();
  const [gx, gy] = [gw.tensor(x, [c.batch, c.steps, c.input]), gw.tensor(y, [c.batch, 1])];
  const one = gw.tensor(x.subarray(0, c.steps * c.input), [1, c.steps, c.input]);
  const each = (body: (model: gw.Sequential) => Promise<unknown>) => models.map((model) => () => body(model));
  const predictOn = (input: gw.Tensor) => async (model: gw.Sequential) =>
    (await model.predict(input, { batchSize: c.batch })).dispose();
  const train = await timeInterleaved(
    each((model) => model.trainOnBatch(gx, gy)),
    options,
  );
  const predict = await timeInterleaved(each(predictOn(gx)), options);
  const latency = await timeInterleaved(each(predictOn(one)), {
    warmup: options.warmup + 2,
    reps: 3 * options.reps,
  });
  for (const t of [gx, gy, one]) t.dispose();
  for (const model of models) model.dispose();
  return models.map((_, i) => ({
    train: train[i] as Timing,
    predict: predict[i] as Timing,
    latency: latency[i] as Timing,
  }));
}

let wasmPathsSet = false;

export async function tfjsTimings(
  c: Config,
  backend: 'cpu' | 'wasm',
  options: Repeat,
): Promise<SystemTimings> {
  if (backend === 'wasm' && !wasmPathsSet) {
    const require = createRequire(import.meta.url);
    setWasmPaths(`${dirname(require.resolve('@tensorflow/tfjs-backend-wasm'))}/`);
    wasmPathsSet = true;
  }
  await tf.setBackend(backend);
  await tf.ready();
  const { x, y } = batchOf(c);
  const model = tf.sequential();
  model.add(
    tf.layers.gru({ units: c.units, inputShape: [c.steps, c.input], recurrentActivation: 'sigmoid' }),
  );
  model.add(tf.layers.dense({ units: 1, activation: 'sigmoid' }));
  model.compile({ optimizer: tf.train.adam(1e-3), loss: 'binaryCrossentropy' });
  const [tx, ty] = [tf.tensor3d(x, [c.batch, c.steps, c.input]), tf.tensor2d(y, [c.batch, 1])];
  const one = tf.tensor3d(x.subarray(0, c.steps * c.input), [1, c.steps, c.input]);
  const predictOn = async (input: tf.Tensor) => {
    const p = model.predict(input) as tf.Tensor;
    await p.data();
    p.dispose();
  };
  const timings = {
    train: await timeAsync(() => model.trainOnBatch(tx, ty), options),
    predict: await timeAsync(() => predictOn(tx), options),
    latency: await timeAsync(() => predictOn(one), { warmup: options.warmup + 1, reps: options.reps }),
  };
  tf.dispose([tx, ty, one]);
  model.dispose();
  return timings;
}
