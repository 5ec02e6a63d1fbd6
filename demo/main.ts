/**
 * `npm run demo`: loads the kernel this runtime supports, runs a GRU forward
 * and backward through time on a batch of random sequences, and prints the
 * timings and gradient norms. (The training issue turns this into training
 * on the bundled data set.)
 */
import { DEFAULT_GRU_CONFIG, type GruDims, Kernel } from '../ts/index.js';

const dims: GruDims = { batch: 64, steps: 100, input: 32, units: 256 };
const { batch: B, steps: T, input: I, units: H } = dims;

function random(length: number, scale: number): Float32Array {
  return Float32Array.from({ length }, () => (Math.random() * 2 - 1) * scale);
}

const kernel = await Kernel.load();
console.log(`kernel: ${kernel.flavour} build`);
const owned: number[] = [];
const own = (p: number) => {
  owned.push(p);
  return p;
};
const weights = {
  kernel: own(kernel.upload(random(I * 3 * H, Math.sqrt(6 / (I + 3 * H))))),
  recurrentKernel: own(kernel.upload(random(H * 3 * H, Math.sqrt(6 / (4 * H))))),
  bias: own(kernel.upload(new Float32Array(3 * H))),
};
const x = own(kernel.upload(random(B * T * I, 1)));
const output = own(kernel.alloc(B * H));
const cache = own(kernel.alloc(kernel.gruCacheLength(dims)));
const dOutput = own(kernel.upload(random(B * H, 1)));
const grads = {
  dKernel: own(kernel.alloc(I * 3 * H)),
  dRecurrentKernel: own(kernel.alloc(H * 3 * H)),
  dBias: own(kernel.alloc(3 * H)),
  dX: own(kernel.alloc(B * T * I)),
};

const norm = (ptr: number) => Math.sqrt(kernel.view(ptr).reduce((s, v) => s + v * v, 0));
const flop = 2 * B * T * 3 * H * (I + H);
for (let round = 1; round <= 3; round++) {
  const t0 = performance.now();
  kernel.gruForward(dims, DEFAULT_GRU_CONFIG, { ...weights, x, output, cache });
  const t1 = performance.now();
  kernel.gruBackward(dims, DEFAULT_GRU_CONFIG, { ...weights, x, cache, dOutput, ...grads });
  const t2 = performance.now();
  console.log(
    `round ${round}: forward ${(t1 - t0).toFixed(1)} ms (${(flop / (t1 - t0) / 1e6).toFixed(1)} GFLOP/s), ` +
      `backward ${(t2 - t1).toFixed(1)} ms (${((2 * flop) / (t2 - t1) / 1e6).toFixed(1)} GFLOP/s)`,
  );
}
console.log(
  `GRU(${H}) on B=${B}, T=${T}, I=${I}: |h_T| ${norm(output).toFixed(3)}, |dKernel| ${norm(grads.dKernel).toFixed(3)}, ` +
    `|dRecurrentKernel| ${norm(grads.dRecurrentKernel).toFixed(3)}, |dX| ${norm(grads.dX).toFixed(3)}`,
);
for (const p of owned) kernel.free(p);
