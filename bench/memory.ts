/**
 * Peak kernel memory of a training step, measured in a fresh process (the
 * WebAssembly memory only grows, so its size is the high-water mark): run
 * by bench/run.ts as `tsx bench/memory.ts '<config JSON>'`, prints JSON.
 *
 * Compared with what a step cannot do without: weights, their gradients,
 * Adam's two moments, the activations kept for backward (the GRU's cache,
 * its output, the prediction) and one batch.
 */
import * as gw from '../ts/index.js';
import type { Config } from './training.js';
import { uniform } from './training.js';

const c = JSON.parse(process.argv[2] ?? '') as Config;
const kernel = await gw.ready('simd');
const startBytes = kernel.memory.buffer.byteLength;
const model = gw.sequential();
model.add(gw.layers.gru({ units: c.units, inputShape: [c.steps, c.input] }));
model.add(gw.layers.dense({ units: 1, activation: 'sigmoid' }));
model.compile({ optimizer: 'adam', loss: 'binaryCrossentropy' });
const x = gw.tensor(uniform(1, c.batch * c.steps * c.input), [c.batch, c.steps, c.input]);
const y = gw.tensor(
  Float32Array.from(uniform(2, c.batch), (v) => (v > 0 ? 1 : 0)),
  [c.batch, 1],
);
for (let i = 0; i < 3; i++) await model.trainOnBatch(x, y);
// All of it: the module's static data and stack (startBytes) included.
const peakBytes = kernel.memory.buffer.byteLength;
const params = model.countParams();
const cache = kernel.gruCacheLength({ batch: c.batch, steps: c.steps, input: c.input, units: c.units });
const activations = cache + c.batch * c.units + c.batch;
const batch = c.batch * c.steps * c.input + c.batch;
const neededBytes = 4 * (4 * params + activations + batch);
console.log(JSON.stringify({ peakBytes, startBytes, neededBytes }));
