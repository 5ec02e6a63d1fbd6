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
import { SelfTimed, type Timing, timeAsync, timeInterleaved } from './harness.js';

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

/** One gru-wasm setup: a kernel build, on its calling thread (`workers` 0) or on kernel workers. */
export interface GruWasmVariant {
  kernel: gw.Kernel;
  workers: number;
}

/** Another system's inference, timed call by call in its own process (ONNX Runtime). */
export interface InferencePeer {
  time(what: 'predict' | 'latency'): Promise<number>;
}

/**
 * gru-wasm, one model per variant (each batch split between a variant's
 * workers), all measured in alternation, and the inference of `peers` in
 * the same alternation: their ratios (workers against one thread, one build
 * against another, gru-wasm against ONNX Runtime) stay honest while the
 * machine drifts.
 */
export async function gruWasmTimings(
  c: Config,
  variants: readonly GruWasmVariant[],
  options: Repeat,
  peers: readonly InferencePeer[] = [],
): Promise<{ variants: SystemTimings[]; peers: { predict: Timing; latency: Timing }[] }> {
  const { x, y } = batchOf(c);
  const setups = variants.map(({ kernel, workers }) => {
    const model = new gw.Sequential(kernel);
    model.add(gw.layers.gru({ units: c.units, inputShape: [c.steps, c.input] }));
    model.add(gw.layers.dense({ units: 1, activation: 'sigmoid' }));
    model.compile({ optimizer: 'adam', loss: 'binaryCrossentropy', workers });
    const tensor = (values: Float32Array, shape: number[]) => gw.tensor(values, shape, { kernel });
    const data = {
      x: tensor(x, [c.batch, c.steps, c.input]),
      y: tensor(y, [c.batch, 1]),
      one: tensor(x.subarray(0, c.steps * c.input), [1, c.steps, c.input]),
    };
    return { model, data };
  });
  // Started before timing: their start-up is not a step.
  for (const { model } of setups) await model.workers();
  type Setup = (typeof setups)[number];
  const each = (body: (setup: Setup) => Promise<unknown>) => setups.map((setup) => () => body(setup));
  const predictOn =
    (pick: (data: Setup['data']) => gw.Tensor) =>
    async ({ model, data }: Setup) =>
      (await model.predict(pick(data), { batchSize: c.batch })).dispose();
  const train = await timeInterleaved(
    each(({ model, data }) => model.trainOnBatch(data.x, data.y)),
    options,
  );
  const peerBodies = (what: 'predict' | 'latency') =>
    peers.map((peer) => async () => new SelfTimed(await peer.time(what)));
  // Another process's threads may spin a while after its call: a pause before each turn.
  const settleMs = peers.length > 0 ? 20 : 0;
  const predict = await timeInterleaved([...each(predictOn((data) => data.x)), ...peerBodies('predict')], {
    ...options,
    settleMs,
  });
  // Back-to-back calls (as TensorFlow.js' latency is timed), in blocks that
  // alternate between the systems.
  const latency = await timeInterleaved([...each(predictOn((data) => data.one)), ...peerBodies('latency')], {
    warmup: options.warmup + 2,
    reps: Math.max(1, Math.ceil((6 * options.reps) / 5)),
    block: options.reps > 1 ? 5 : 1,
    settleMs,
  });
  for (const { model, data } of setups) {
    for (const t of Object.values(data)) t.dispose();
    model.dispose();
  }
  return {
    variants: setups.map((_, i) => ({
      train: train[i] as Timing,
      predict: predict[i] as Timing,
      latency: latency[i] as Timing,
    })),
    peers: peers.map((_, p) => ({
      predict: predict[setups.length + p] as Timing,
      latency: latency[setups.length + p] as Timing,
    })),
  };
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
