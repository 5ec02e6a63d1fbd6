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
import { summarize, type Timing } from './harness.js';

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

export async function gruWasmStep(c: Config, options: { warmup: number; reps: number }): Promise<Timing> {
  await gw.ready('simd');
  const { x, y } = batchOf(c);
  const model = gw.sequential();
  model.add(gw.layers.gru({ units: c.units, inputShape: [c.steps, c.input] }));
  model.add(gw.layers.dense({ units: 1, activation: 'sigmoid' }));
  model.compile({ optimizer: 'adam', loss: 'binaryCrossentropy' });
  const [gx, gy] = [gw.tensor(x, [c.batch, c.steps, c.input]), gw.tensor(y, [c.batch, 1])];
  const timings: number[] = [];
  for (let i = 0; i < options.warmup + options.reps; i++) {
    const start = performance.now();
    await model.trainOnBatch(gx, gy);
    if (i >= options.warmup) timings.push(performance.now() - start);
  }
  gx.dispose();
  gy.dispose();
  model.dispose();
  return summarize(timings);
}

let wasmPathsSet = false;

export async function tfjsStep(
  c: Config,
  backend: 'cpu' | 'wasm',
  options: { warmup: number; reps: number },
): Promise<Timing> {
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
  const timings: number[] = [];
  for (let i = 0; i < options.warmup + options.reps; i++) {
    const start = performance.now();
    await model.trainOnBatch(tx, ty);
    if (i >= options.warmup) timings.push(performance.now() - start);
  }
  tf.dispose([tx, ty]);
  model.dispose();
  return summarize(timings);
}
