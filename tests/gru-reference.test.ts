/**
 * resetAfter = true (Keras 2+ / PyTorch), which TensorFlow.js lacks: the
 * kernel against a float64 GRU written from the equations, and its gradients
 * against central differences of that reference. Also: both builds agree bit
 * for bit.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_GRU_CONFIG, type GruConfig, type GruDims, Kernel } from '../ts/index.js';
import { expectClose, expectRelClose } from './support/compare.js';
import { gru64, numericGradient } from './support/gru64.js';
import { randomUniform } from './support/random.js';
import { type GruCase, runGru } from './support/run-gru.js';

function makeCase(dims: GruDims, config: GruConfig, seed: number): GruCase {
  const { batch: B, steps: T, input: I, units: H } = dims;
  return {
    kernel: randomUniform(seed, I * 3 * H, -0.6, 0.6),
    recurrentKernel: randomUniform(seed + 1, H * 3 * H, -0.6, 0.6),
    bias: randomUniform(seed + 2, (config.resetAfter ? 6 : 3) * H, -0.3, 0.3),
    x: randomUniform(seed + 3, B * T * I),
    initialState: randomUniform(seed + 4, B * H, -0.5, 0.5),
    dOutput: randomUniform(seed + 5, config.returnSequences ? B * T * H : B * H),
  };
}

let kernel: Kernel;
beforeAll(async () => {
  kernel = await Kernel.load('simd');
});

describe('GRU with resetAfter = true against float64', () => {
  const shapes: GruDims[] = [
    { batch: 2, steps: 4, input: 3, units: 5 },
    { batch: 1, steps: 1, input: 1, units: 1 },
    { batch: 3, steps: 6, input: 4, units: 10 },
  ];
  let seed = 1;
  for (const dims of shapes) {
    for (const goBackwards of [false, true]) {
      for (const returnSequences of [false, true]) {
        const config = { ...DEFAULT_GRU_CONFIG, resetAfter: true, goBackwards, returnSequences };
        seed += 10;
        const caseSeed = seed;
        it(`B${dims.batch} T${dims.steps} I${dims.input} H${dims.units} goBackwards=${goBackwards} returnSequences=${returnSequences}`, () => {
          const data = makeCase(dims, config, caseSeed);
          const ours = runGru(kernel, dims, config, data);
          const w = {
            kernel: Float64Array.from(data.kernel),
            recurrentKernel: Float64Array.from(data.recurrentKernel),
            bias: Float64Array.from(data.bias ?? []),
          };
          const x = Float64Array.from(data.x);
          const h0 = Float64Array.from(data.initialState ?? []);
          const loss = () => {
            const out = gru64(dims, config, w, x, h0);
            return out.reduce((sum, v, i) => sum + v * (data.dOutput[i] as number), 0);
          };
          expectClose('output', ours.output, gru64(dims, config, w, x, h0), 2e-5);
          expectRelClose('dKernel', ours.dKernel, numericGradient(w.kernel, loss), 1e-3);
          expectRelClose(
            'dRecurrentKernel',
            ours.dRecurrentKernel,
            numericGradient(w.recurrentKernel, loss),
            1e-3,
          );
          expectRelClose('dBias', ours.dBias ?? [], numericGradient(w.bias, loss), 1e-3);
          expectRelClose('dX', ours.dX, numericGradient(x, loss), 1e-3);
          expectRelClose('dInitialState', ours.dInitialState, numericGradient(h0, loss), 1e-3);
        });
      }
    }
  }
});

describe('the two builds', () => {
  it('give bit-identical results', async () => {
    const threads = await Kernel.load('threads');
    expect(threads.flavour).toBe('threads');
    expect(threads.memory.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(kernel.memory.buffer).toBeInstanceOf(ArrayBuffer);
    const dims = { batch: 7, steps: 9, input: 5, units: 13 };
    for (const resetAfter of [false, true]) {
      const config = { ...DEFAULT_GRU_CONFIG, resetAfter, returnSequences: true };
      const data = makeCase(dims, config, 99);
      const a = runGru(kernel, dims, config, data);
      const b = runGru(threads, dims, config, data);
      expect(b).toEqual(a);
    }
  });
});
