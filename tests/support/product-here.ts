import type { Kernel } from '../../ts/index.js';

/**
 * The last element of a 64 × 64 product of halves computed on this thread
 * (64 × 0.5 × 0.5 = 16): this thread still allocates and computes. Its
 * tensors are freed again.
 */
export function productHere(kernel: Kernel): number {
  const a = kernel.upload(new Float32Array(64 * 64).fill(0.5));
  const c = kernel.alloc(64 * 64);
  try {
    kernel.gemm({ m: 64, n: 64, k: 64 }, { a, b: a, c });
    return kernel.download(c)[64 * 64 - 1] as number;
  } finally {
    kernel.free(a);
    kernel.free(c);
  }
}
