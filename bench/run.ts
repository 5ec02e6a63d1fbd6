/**
 * `npm run bench`: one GRU forward + backward (BPTT) of GRU(256) on B=64,
 * T=100, I=32, in the wasm kernel and in the pure-JS baseline, after
 * checking that both compute the same values.
 *
 * FLOPs count the GRU's matrix products only: a forward is 2·B·T·3H·(I+H),
 * a forward + backward three times that.
 *
 * Flags: --quick (one repetition of each, for CI smoke), --batch, --steps,
 * --input, --units.
 */
import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import { type GruDims, Kernel, type KernelFlavour } from '../ts/index.js';
import { gruBackward, gruForward } from './baseline/gru.js';
import { KernelGruStep, makeData } from './gru-setup.js';
import { table, time } from './harness.js';

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    batch: { type: 'string', default: '64' },
    steps: { type: 'string', default: '100' },
    input: { type: 'string', default: '32' },
    units: { type: 'string', default: '256' },
  },
});
const dims: GruDims = {
  batch: Number(flags.batch),
  steps: Number(flags.steps),
  input: Number(flags.input),
  units: Number(flags.units),
};
const quick = flags.quick;
const forwardFlop = 2 * dims.batch * dims.steps * 3 * dims.units * (dims.input + dims.units);

const data = makeData(dims);

function maxRelDiff(a: Float32Array, b: Float32Array): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs((a[i] as number) - (b[i] as number)));
    scale = Math.max(scale, Math.abs(b[i] as number));
  }
  return diff / Math.max(scale, 1e-30);
}

/** Refuses to time two implementations that disagree. */
function checkAgreement(kernel: Kernel): void {
  const step = new KernelGruStep(kernel, dims, data);
  step.forward(true);
  step.backward();
  const fwd = gruForward(dims, data.weights, data.x);
  const grads = gruBackward(dims, data.weights, data.x, fwd, data.dOutput);
  const pairs: [string, number, Float32Array][] = [
    ['output', step.ptrs.output, fwd.output],
    ['dKernel', step.ptrs.dKernel, grads.kernel],
    ['dRecurrentKernel', step.ptrs.dRecurrentKernel, grads.recurrentKernel],
    ['dBias', step.ptrs.dBias, grads.bias],
    ['dX', step.ptrs.dX, grads.x],
  ];
  for (const [name, ptr, expected] of pairs) {
    const rel = maxRelDiff(kernel.download(ptr), expected);
    if (!(rel <= 1e-3)) throw new Error(`baseline and kernel disagree on ${name}: relative diff ${rel}`);
  }
  step.dispose();
}

interface Row {
  system: string;
  what: string;
  ms: number;
  spread: string;
  flop: number;
}

const rows: Row[] = [];
const reps = quick ? 1 : 10;
const warmup = quick ? 0 : 2;

for (const flavour of ['simd', 'threads'] as KernelFlavour[]) {
  const kernel = await Kernel.load(flavour);
  checkAgreement(kernel);
  const step = new KernelGruStep(kernel, dims, data);
  const train = time(
    () => {
      step.forward(true);
      step.backward();
    },
    { warmup, reps },
  );
  const infer = time(() => step.forward(false), { warmup, reps });
  step.dispose();
  const label = `gru-wasm (${flavour} build, 1 thread)`;
  rows.push({
    system: label,
    what: 'forward + backward',
    ms: train.median,
    spread: `${train.min.toFixed(1)}–${train.max.toFixed(1)}`,
    flop: 3 * forwardFlop,
  });
  rows.push({
    system: label,
    what: 'forward (inference)',
    ms: infer.median,
    spread: `${infer.min.toFixed(1)}–${infer.max.toFixed(1)}`,
    flop: forwardFlop,
  });
}

const baselineReps = quick ? 1 : 3;
const baseline = time(
  () => {
    const fwd = gruForward(dims, data.weights, data.x);
    gruBackward(dims, data.weights, data.x, fwd, data.dOutput);
  },
  { warmup: quick ? 0 : 1, reps: baselineReps },
);
rows.push({
  system: 'pure-JS baseline (bench/baseline)',
  what: 'forward + backward',
  ms: baseline.median,
  spread: `${baseline.min.toFixed(0)}–${baseline.max.toFixed(0)}`,
  flop: 3 * forwardFlop,
});

const baselineMs = baseline.median;
const header = ['system', 'pass', 'ms (median)', 'min–max', 'samples/s', 'GFLOP/s', '× baseline'];
const body = rows.map((r) => [
  r.system,
  r.what,
  r.ms.toFixed(1),
  r.spread,
  ((dims.batch * 1000) / r.ms).toFixed(0),
  (r.flop / r.ms / 1e6).toFixed(1),
  r.what === 'forward + backward' ? (baselineMs / r.ms).toFixed(1) : '',
]);
console.log(
  `GRU(${dims.units}) on B=${dims.batch}, T=${dims.steps}, I=${dims.input}; ${hostname()}, Node ${process.versions.node}, ${new Date().toISOString().slice(0, 10)}${quick ? ' (--quick: one repetition, not a measurement)' : ''}`,
);
console.log(`kernel runs ${reps} timed repetitions after ${warmup} warm-up; the baseline ${baselineReps}.\n`);
console.log(table(header, body));
