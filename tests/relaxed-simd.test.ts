/**
 * The relaxed-SIMD builds: chosen only where the runtime has relaxed SIMD
 * (Node 22+ and Chrome; Node 20 with a flag, so there the numeric checks run
 * in a child process that has it), really built with relaxed instructions,
 * and close to the plain builds: matrix products against float64, a GRU
 * training run against the plain build, and data-parallel training on
 * workers that attach to the same relaxed build; and, in both builds, sigmoid
 * and tanh within 3 ulp of float64 and independent of where a value sits in
 * a slice, and NaN passed on by every activation, clip, loss and GRU. `npm
 * test` runs this file on Node 20 and on Node 24, so both branches run.
 */
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import * as gw from '../ts/index.js';
import { runScript } from './support/script.js';

const wasm = (build: string) => readFile(new URL(`../wasm/${build}/gru_wasm_bg.wasm`, import.meta.url));
const relaxedHere = await gw.relaxedAvailable();

describe('relaxed-SIMD builds', () => {
  it.runIf(!relaxedHere)(
    'hold relaxed instructions, and a runtime without relaxed SIMD neither picks nor loads them',
    async () => {
      for (const build of ['simd-relaxed', 'threads-relaxed'])
        expect(WebAssembly.validate(await wasm(build))).toBe(false);
      for (const build of ['simd', 'threads']) expect(WebAssembly.validate(await wasm(build))).toBe(true);
      expect((await gw.ready()).relaxed).toBe(false);
      await expect(gw.Kernel.load('simd', { relaxed: true })).rejects.toThrow(
        'the relaxed-SIMD kernel needs WebAssembly relaxed SIMD (Chrome 114+, Node 22+, or Node 20 with --experimental-wasm-relaxed-simd); this runtime lacks it',
      );
    },
  );

  it.runIf(relaxedHere)(
    'are the default where the runtime has relaxed SIMD, and the plain builds stay a choice',
    async () => {
      for (const build of ['simd', 'threads', 'simd-relaxed', 'threads-relaxed'])
        expect(WebAssembly.validate(await wasm(build))).toBe(true);
      const auto = await gw.ready();
      expect({ flavour: auto.flavour, relaxed: auto.relaxed }).toEqual({ flavour: 'threads', relaxed: true });
      expect((await gw.Kernel.load('simd')).relaxed).toBe(true);
      expect((await gw.Kernel.load('simd', { relaxed: false })).relaxed).toBe(false);
    },
  );

  it('are chosen where relaxed SIMD exists, and compute what the plain builds compute, closely', async () => {
    const index = new URL('../ts/index.ts', import.meta.url).href;
    const { code, output } = await runScript(checkScript(index), {
      flags: relaxedHere ? [] : ['--experimental-wasm-relaxed-simd'],
      timeoutMs: 90_000,
    });
    expect(code).toBe(0);
    const result = JSON.parse(output) as CheckResult;
    expect(result.auto).toEqual({ flavour: 'threads', relaxed: true });
    expect(result.simdAuto).toBe(true);
    expect(result.optOut).toBe(false);
    // Matrix products: as close to float64 as the plain build's (a fused
    // multiply-add rounds once instead of twice).
    expect(result.gemmRelaxedError).toBeLessThan(2e-6);
    expect(result.gemmRelaxedError).toBeLessThan(2 * result.gemmPlainError + 1e-7);
    // Ten Adam steps of a GRU model: the same losses to 1e-4, the same weights to 1e-3.
    expect(result.lossRelDiff).toBeLessThan(1e-4);
    expect(result.weightRelDiff).toBeLessThan(1e-3);
    // Two workers attached to the relaxed threaded build agree with one thread of it.
    expect(result.workersRelDiff).toBeLessThan(1e-5);
    // A value's activation is the same wherever it sits in a slice (the
    // relaxed builds fuse only vector instructions; a slice's tail once went
    // through scalar ones, and a GRU split between workers differed).
    expect(result.positionDependent).toEqual({ plain: [], relaxed: [] });
    // NaN in, NaN out, through every activation, clipping, the losses and a
    // GRU, in both builds (the relaxed builds' clamps once turned NaN into a
    // bound, so a diverged model predicted numbers; ReLU returned 0 for NaN).
    expect(result.nanSwallowedBy).toEqual({ plain: [], relaxed: [] });
    // Sigmoid and tanh (their polynomials fused in the relaxed builds) as
    // accurate as the plain builds' against float64: within 3 ulp.
    for (const build of ['plain', 'relaxed'] as const) {
      const { sigmoid, tanh } = result.activationUlps[build];
      expect(sigmoid, `${build} sigmoid`).toBeLessThanOrEqual(3);
      expect(tanh, `${build} tanh`).toBeLessThanOrEqual(3);
    }
  }, 120_000);
});

interface CheckResult {
  auto: { flavour: string; relaxed: boolean };
  simdAuto: boolean;
  optOut: boolean;
  gemmPlainError: number;
  gemmRelaxedError: number;
  lossRelDiff: number;
  weightRelDiff: number;
  workersRelDiff: number;
  activationUlps: Record<'plain' | 'relaxed', { sigmoid: number; tanh: number }>;
  nanSwallowedBy: Record<'plain' | 'relaxed', string[]>;
  positionDependent: Record<'plain' | 'relaxed', string[]>;
}

/** The child's script: prints a `CheckResult` as JSON. */
function checkScript(index: string): string {
  return `import * as gw from ${JSON.stringify(index)};
const auto = await gw.ready();
const relaxedSimd = await gw.Kernel.load('simd');
const plainSimd = await gw.Kernel.load('simd', { relaxed: false });

function random(seed, length) {
  let state = seed >>> 0;
  return Float32Array.from({ length }, () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32 - 0.5;
  });
}
const [m, k, n] = [70, 300, 90];
const a = random(1, m * k), b = random(2, k * n);
const exact = new Float64Array(m * n);
for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
  let s = 0;
  for (let p = 0; p < k; p++) s += a[i * k + p] * b[p * n + j];
  exact[i * n + j] = s;
}
const scale = exact.reduce((x, v) => Math.max(x, Math.abs(v)), 0);
function gemmError(kernel) {
  const [pa, pb, pc] = [kernel.upload(a), kernel.upload(b), kernel.alloc(m * n)];
  kernel.gemm({ m, n, k }, { a: pa, b: pb, c: pc });
  const c = kernel.download(pc);
  for (const p of [pa, pb, pc]) kernel.free(p);
  return c.reduce((x, v, i) => Math.max(x, Math.abs(v - exact[i])), 0) / scale;
}

const relDiff = (xs, ys) => {
  let diff = 0, size = 0;
  xs.forEach((x, i) => { diff = Math.max(diff, Math.abs(x - ys[i])); size = Math.max(size, Math.abs(ys[i])); });
  return diff / size;
};
async function train(kernel, workers) {
  gw.setRandomSeed(3);
  const model = new gw.Sequential(kernel);
  model.add(gw.layers.gru({ units: 48, inputShape: [20, 6] }));
  model.add(gw.layers.dense({ units: 1, activation: 'sigmoid' }));
  model.compile({ optimizer: gw.optimizers.adam({ learningRate: 0.01 }), loss: 'binaryCrossentropy', workers });
  const x = gw.tensor(random(5, 64 * 20 * 6), [64, 20, 6], { kernel });
  const y = gw.tensor(Float32Array.from(random(6, 64), (v) => (v > 0 ? 1 : 0)), [64, 1], { kernel });
  const losses = [];
  for (let step = 0; step < 10; step++) losses.push(await model.trainOnBatch(x, y));
  const weights = model.getWeights().map((t) => t.dataSync());
  model.dispose();
  return { losses, weights: Float32Array.from(weights.flatMap((w) => [...w])) };
}
// \`name\` applied by \`kernel\` to a copy of \`values\` (rows of \`width\`).
function activated(kernel, name, values, width = 1) {
  const p = kernel.upload(values);
  kernel.activationForward(name, p, width);
  const out = kernel.download(p);
  kernel.free(p);
  return out;
}
// Worst distance to float64, in units in the last place of the exact value,
// over [-87.3, 88.3] (where every result is a normal float).
const sweep = Float32Array.from({ length: 200_001 }, (_, i) => -87.3 + (175.6 * i) / 200_000);
const bits = new Uint32Array(1);
const asFloat = new Float32Array(bits.buffer);
function ulp(value) {
  asFloat[0] = Math.abs(value);
  bits[0] += 1;
  return asFloat[0] - Math.fround(Math.abs(value));
}
function worstUlps(kernel, name, exact) {
  const got = activated(kernel, name, sweep);
  let worst = 0;
  sweep.forEach((x, i) => {
    const e = exact(x);
    if (e !== 0) worst = Math.max(worst, Math.abs(got[i] - e) / ulp(e));
  });
  return worst;
}
const activationUlps = (kernel) => ({
  sigmoid: worstUlps(kernel, 'sigmoid', (x) => 1 / (1 + Math.exp(-x))),
  tanh: worstUlps(kernel, 'tanh', Math.tanh),
});
// What turns a NaN input into a number: each activation (over enough values
// for its vectorised loop), gradient clipping by value, the losses, and a
// GRU (both reset conventions) whose first sequence has one NaN input.
function nanSwallowedBy(kernel) {
  const swallowed = [];
  const nans = [0, 17, 62];
  for (const name of ['linear', 'sigmoid', 'tanh', 'relu', 'hardSigmoid', 'softmax']) {
    const values = random(11, 64).map((v) => 8 * v);
    for (const i of nans) values[i] = Number.NaN;
    const out = activated(kernel, name, values, name === 'softmax' ? 16 : 1);
    if (!nans.every((i) => Number.isNaN(out[i]))) swallowed.push(name);
  }
  const gradient = random(12, 64);
  for (const i of nans) gradient[i] = Number.NaN;
  const g = kernel.upload(gradient);
  kernel.clipGradients([g], { clipvalue: 0.1 });
  if (!nans.every((i) => Number.isNaN(kernel.download(g)[i]))) swallowed.push('clipvalue');
  kernel.free(g);
  for (const loss of ['binaryCrossentropy', 'categoricalCrossentropy', 'meanSquaredError']) {
    const predictions = random(13, 64).map((v) => v + 0.5);
    predictions[17] = Number.NaN;
    const buffers = { predictions: kernel.upload(predictions), targets: kernel.upload(random(14, 64).map((v) => (v > 0 ? 1 : 0))) };
    if (!Number.isNaN(kernel.loss(loss, { samples: 16, width: 4 }, buffers))) swallowed.push(loss);
    for (const p of Object.values(buffers)) kernel.free(p);
  }
  const [B, T, I, H] = [3, 4, 5, 32];
  for (const resetAfter of [false, true]) {
    const x = random(7, B * T * I);
    x[I] = Number.NaN;
    const buffers = {
      x: kernel.upload(x),
      kernel: kernel.upload(random(8, I * 3 * H)),
      recurrentKernel: kernel.upload(random(9, H * 3 * H)),
      bias: kernel.upload(random(10, (resetAfter ? 2 : 1) * 3 * H)),
      output: kernel.alloc(B * H),
    };
    kernel.gruForward({ batch: B, steps: T, input: I, units: H }, { resetAfter }, buffers);
    const out = kernel.download(buffers.output);
    if (!out.subarray(0, H).every(Number.isNaN) || !out.subarray(H).every(Number.isFinite)) {
      swallowed.push(\`gru (resetAfter: \${resetAfter})\`);
    }
    for (const p of Object.values(buffers)) kernel.free(p);
  }
  return swallowed;
}
// The activations whose result for a value changes with the slice around
// it: 70,000 values at once against the same values 7 at a time (where a
// fused and an unfused evaluation differ, it is in a few values in 10,000).
function positionDependent(kernel) {
  const values = random(15, 70_000).map((v) => 12 * v);
  const differing = [];
  for (const name of ['sigmoid', 'tanh']) {
    const whole = activated(kernel, name, values);
    let same = true;
    for (let start = 0; start < values.length; start += 7) {
      const part = activated(kernel, name, values.subarray(start, start + 7));
      same &&= part.every((v, i) => Object.is(v, whole[start + i]));
    }
    if (!same) differing.push(name);
  }
  return differing;
}
const plain = await train(plainSimd, 0);
const relaxed = await train(relaxedSimd, 0);
const here = await train(auto, 0);
const onWorkers = await train(auto, 2);
console.log(JSON.stringify({
  auto: { flavour: auto.flavour, relaxed: auto.relaxed },
  simdAuto: relaxedSimd.relaxed,
  optOut: plainSimd.relaxed,
  gemmPlainError: gemmError(plainSimd),
  gemmRelaxedError: gemmError(relaxedSimd),
  lossRelDiff: relDiff(relaxed.losses, plain.losses),
  weightRelDiff: relDiff(relaxed.weights, plain.weights),
  workersRelDiff: relDiff(onWorkers.weights, here.weights),
  activationUlps: { plain: activationUlps(plainSimd), relaxed: activationUlps(relaxedSimd) },
  nanSwallowedBy: { plain: nanSwallowedBy(plainSimd), relaxed: nanSwallowedBy(relaxedSimd) },
  positionDependent: { plain: positionDependent(plainSimd), relaxed: positionDependent(relaxedSimd) },
}));
process.exit(0);
`;
}
