/**
 * The GEMM phases of a GRU training step: the matrix products a GRU(H)
 * (Keras' reset-after form) computes for one forward and backward over
 * B×T×I, timed as the kernel's `gemm` computes them. Their FLOPs are exactly
 * the step's count, 3 × 2·B·T·3H·(I+H). The GRU multiplies by its recurrent
 * kernel T times per call, packed once; `gemm` packs its B on every call, so
 * the per-step products are timed as one call over the rows of all T steps
 * (the same FLOPs and tiles, the packing of U paid once, as in the GRU).
 */
import type { Kernel, Ptr } from '../ts/index.js';
import { time } from './harness.js';
import type { Config } from './training.js';

interface Phase {
  name: string;
  m: number;
  n: number;
  k: number;
  transA: boolean;
  transB: boolean;
}

export function gemmPhases(c: Config): Phase[] {
  const [rows, gates] = [c.batch * c.steps, 3 * c.units];
  const phase = (name: string, m: number, n: number, k: number, transA = false, transB = false): Phase => ({
    name,
    m,
    n,
    k,
    transA,
    transB,
  });
  return [
    phase('input projection x·W', rows, gates, c.input),
    phase('recurrent products h·U (T steps)', rows, gates, c.units),
    phase('∂h = ∂(h·U)·Uᵀ (T steps)', rows, c.units, gates, false, true),
    phase('∂U = hᵀ·∂(h·U)', c.units, gates, rows, true),
    phase('∂W = xᵀ·∂(x·W)', c.input, gates, rows, true),
    phase('∂x = ∂(x·W)·Wᵀ', rows, c.input, gates, false, true),
  ];
}

export const phaseFlop = (p: Phase): number => 2 * p.m * p.n * p.k;

/** Milliseconds of each phase per training step (the median of `reps` after one warm-up). */
export function timeGemmPhases(kernel: Kernel, c: Config, reps: number): { phase: Phase; ms: number }[] {
  return gemmPhases(c).map((phase) => {
    const { m, n, k, transA, transB } = phase;
    const buffers: Ptr[] = [m * k, k * n, m * n].map((length) => kernel.alloc(length));
    const [a, b, out] = buffers as [Ptr, Ptr, Ptr];
    for (const p of [a, b]) {
      const view = kernel.view(p);
      for (let i = 0; i < view.length; i++) view[i] = ((i % 13) - 6) / 64;
    }
    const run = () => kernel.gemm({ m, n, k, transA, transB }, { a, b, c: out });
    try {
      return { phase, ms: time(run, { warmup: 1, reps }).median };
    } finally {
      for (const p of buffers) kernel.free(p);
    }
  });
}
