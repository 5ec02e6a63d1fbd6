/** One GRU training step's worth of data, in the kernel and as plain arrays. */
import type { GruDims, Kernel, Ptr } from '../ts/index.js';
import type { BaselineWeights } from './baseline/gru.js';

/** Seeded uniform floats in [lo, hi). */
export function uniform(seed: number, length: number, lo: number, hi: number): Float32Array {
  let state = seed >>> 0;
  const out = new Float32Array(length);
  for (let i = 0; i < length; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    out[i] = lo + ((hi - lo) * state) / 2 ** 32;
  }
  return out;
}

/** Glorot-uniform-scaled weights and unit-range inputs. */
export function makeData(dims: GruDims, seed = 1) {
  const { batch: B, steps: T, input: I, units: H } = dims;
  const kernelScale = Math.sqrt(6 / (I + 3 * H));
  const recurrentScale = Math.sqrt(6 / (H + 3 * H));
  const weights: BaselineWeights = {
    kernel: uniform(seed, I * 3 * H, -kernelScale, kernelScale),
    recurrentKernel: uniform(seed + 1, H * 3 * H, -recurrentScale, recurrentScale),
    bias: uniform(seed + 2, 3 * H, -0.1, 0.1),
  };
  return { weights, x: uniform(seed + 3, B * T * I, -1, 1), dOutput: uniform(seed + 4, B * H, -1, 1) };
}

/** The kernel-side buffers of one forward + backward. */
export class KernelGruStep {
  readonly ptrs: Record<
    | 'x'
    | 'kernel'
    | 'recurrentKernel'
    | 'bias'
    | 'output'
    | 'cache'
    | 'dOutput'
    | 'dKernel'
    | 'dRecurrentKernel'
    | 'dBias'
    | 'dX',
    Ptr
  >;

  constructor(
    private readonly k: Kernel,
    private readonly dims: GruDims,
    data: ReturnType<typeof makeData>,
  ) {
    const { batch: B, steps: T, input: I, units: H } = dims;
    this.ptrs = {
      x: k.upload(data.x),
      kernel: k.upload(data.weights.kernel),
      recurrentKernel: k.upload(data.weights.recurrentKernel),
      bias: k.upload(data.weights.bias),
      output: k.alloc(B * H),
      cache: k.alloc(k.gruCacheLength(dims)),
      dOutput: k.upload(data.dOutput),
      dKernel: k.alloc(I * 3 * H),
      dRecurrentKernel: k.alloc(H * 3 * H),
      dBias: k.alloc(3 * H),
      dX: k.alloc(B * T * I),
    };
  }

  forward(training: boolean): void {
    const p = this.ptrs;
    this.k.gruForward(this.dims, {}, { ...p, cache: training ? p.cache : undefined });
  }

  backward(): void {
    this.k.gruBackward(this.dims, {}, this.ptrs);
  }

  dispose(): void {
    for (const p of Object.values(this.ptrs)) this.k.free(p);
  }
}
