/**
 * The relaxed-SIMD builds: chosen only where the runtime has relaxed SIMD
 * (Node 22+ and Chrome; Node 20 with a flag, so there the numeric checks run
 * in a child process that has it), really built with relaxed instructions,
 * and close to the plain builds: matrix products against float64, a GRU
 * training run against the plain build, and data-parallel training on
 * workers that attach to the same relaxed build. `npm test` runs this file on
 * Node 20 and on Node 24, so both branches run.
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
}));
process.exit(0);
`;
}
