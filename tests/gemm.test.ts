/**
 * The SIMD128 GEMM in the real wasm builds against a float64 triple loop:
 * every transpose combination over ~50 shapes (1×1×1, primes, sizes that are
 * not multiples of the 4×8 tile, and sizes past the cache blocks).
 */
import { describe, expect, it } from 'vitest';
import { Kernel, type KernelFlavour } from '../ts/index.js';
import { expectClose } from './support/compare.js';
import { randomUniform } from './support/random.js';

function naive(
  m: number,
  n: number,
  k: number,
  a: Float32Array,
  b: Float32Array,
  transA: boolean,
  transB: boolean,
  alpha: number,
  beta: number,
  c: Float32Array,
): Float64Array {
  const out = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let sum = 0;
      for (let p = 0; p < k; p++) {
        const av = a[transA ? p * m + i : i * k + p] as number;
        const bv = b[transB ? j * k + p : p * n + j] as number;
        sum += av * bv;
      }
      out[i * n + j] = alpha * sum + (beta === 0 ? 0 : beta * (c[i * n + j] as number));
    }
  }
  return out;
}

const shapes: [number, number, number][] = [
  [1, 1, 1],
  [1, 2, 1],
  [2, 1, 1],
  [1, 1, 2],
  [3, 3, 3],
  [4, 8, 4],
  [5, 9, 3],
  [7, 13, 11],
  [8, 8, 8],
  [9, 17, 5],
  [13, 1, 17],
  [1, 31, 64],
  [31, 37, 41],
  [32, 32, 32],
  [33, 65, 17],
  [64, 96, 32],
  [2, 768, 256],
  [17, 29, 300],
  [5, 7, 513],
  [129, 3, 9],
  [130, 20, 260],
  [3, 1031, 7],
  [2, 2049, 3],
  [64, 768, 256],
  [97, 101, 103],
  [1, 100, 1],
  [100, 1, 100],
  [6, 10, 12],
  [12, 24, 1],
  [11, 7, 2],
  [4, 4, 257],
  [61, 67, 71],
  [1, 1030, 1],
  [1030, 1, 1],
  [16, 16, 16],
  [15, 15, 15],
  [2, 3, 5],
  [23, 19, 8],
  [8, 19, 23],
  [40, 56, 24],
  [3, 1, 7],
  [128, 8, 1],
  [19, 1, 1],
  [1, 19, 1],
  [1, 1, 19],
  [48, 144, 48],
  [37, 29, 31],
  [6, 6, 6],
];

describe.each<KernelFlavour>(['simd', 'threads'])('gemm (%s kernel)', (flavour) => {
  it('matches a float64 triple loop on every shape and transpose', async () => {
    const kernel = await Kernel.load(flavour);
    let seed = 1;
    for (const [m, n, k] of shapes) {
      for (const [transA, transB] of [
        [false, false],
        [true, false],
        [false, true],
        [true, true],
      ] as const) {
        const [alpha, beta] = seed % 3 === 0 ? [0.5, -1.5] : [1, 0];
        const a = randomUniform(seed++, m * k);
        const b = randomUniform(seed++, k * n);
        const c0 = randomUniform(seed++, m * n);
        const pa = kernel.upload(a);
        const pb = kernel.upload(b);
        const pc = kernel.upload(beta === 0 ? new Float32Array(m * n).fill(Number.NaN) : c0);
        kernel.gemm({ m, n, k, transA, transB, alpha, beta }, { a: pa, b: pb, c: pc });
        const expected = naive(m, n, k, a, b, transA, transB, alpha, beta, c0);
        expectClose(
          `${m}x${n}x${k} tA=${transA} tB=${transB}`,
          kernel.download(pc),
          expected,
          2e-6 * Math.sqrt(k) + 1e-6,
        );
        for (const p of [pa, pb, pc]) kernel.free(p);
      }
    }
    expect(kernel.live().tensors).toBe(0);
  });
});
