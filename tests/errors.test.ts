/**
 * Bad arguments are refused with an Error naming the operation, the argument,
 * and what was expected; nothing is written, and the kernel stays usable.
 */
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { DEFAULT_GRU_CONFIG, Kernel, type KernelFlavour } from '../ts/index.js';

describe.each<KernelFlavour>(['simd', 'threads'])('errors (%s kernel)', (flavour) => {
  let k: Kernel;
  beforeAll(async () => {
    k = await Kernel.load(flavour);
  });
  const dims = { batch: 2, steps: 3, input: 4, units: 5 };

  function gruBuffers() {
    return {
      x: k.alloc(2 * 3 * 4),
      kernel: k.alloc(4 * 15),
      recurrentKernel: k.alloc(5 * 15),
      bias: k.alloc(15),
      output: k.alloc(2 * 5),
    };
  }
  function freeAll(buffers: Record<string, number>) {
    for (const p of Object.values(buffers)) k.free(p);
  }

  it('uploads a view of its own memory even when the allocation grows the memory', () => {
    // As large as the whole memory: a copy of it cannot fit without growing.
    const length = k.memory.buffer.byteLength / 4;
    const values = k.alloc(length);
    k.view(values).fill(0.5, 0, 1000);
    const bytes = k.memory.buffer.byteLength;
    const copy = k.upload(k.view(values));
    expect(k.memory.buffer.byteLength).toBeGreaterThan(bytes);
    expect(k.download(copy)).toEqual(k.download(values));
    k.free(values);
    k.free(copy);
  });

  it('names a wrong size with expected and actual lengths', () => {
    const b = gruBuffers();
    const short = k.alloc(4 * 15 - 1);
    expect(() => k.gruForward(dims, DEFAULT_GRU_CONFIG, { ...b, kernel: short })).toThrow(
      'gru_forward: `kernel` has 59 floats, expected 60 for shape [4, 15]',
    );
    expect(() => k.gruForward(dims, { resetAfter: true }, b)).toThrow(
      'gru_forward: `bias` has 15 floats, expected 30 for shape [2, 15]',
    );
    expect(() => k.gruForward(dims, { returnSequences: true }, b)).toThrow(
      'gru_forward: `output` has 10 floats, expected 30 for shape [2, 3, 5]',
    );
    const cache = k.alloc(7);
    expect(() => k.gruForward(dims, DEFAULT_GRU_CONFIG, { ...b, cache })).toThrow(
      `gru_forward: \`cache\` has 7 floats, expected ${k.gruCacheLength(dims)}`,
    );
    k.gruForward(dims, DEFAULT_GRU_CONFIG, b); // still usable
    freeAll({ ...b, short, cache });
  });

  it('refuses disposed, foreign and aliased tensors', () => {
    const b = gruBuffers();
    const stale = k.alloc(24);
    k.free(stale);
    expect(() => k.gruForward(dims, DEFAULT_GRU_CONFIG, { ...b, x: stale })).toThrow(
      /gru_forward: `x` \(offset \d+\) is not a live tensor/,
    );
    expect(() => k.gruForward(dims, DEFAULT_GRU_CONFIG, { ...b, x: b.x + 4 })).toThrow(
      /`x` .* is not a live tensor/,
    );
    expect(() => k.gruForward(dims, DEFAULT_GRU_CONFIG, { ...b, output: b.bias })).toThrow(
      'gru_forward: `output` and `bias` are the same tensor, but one of them is written',
    );
    expect(() => k.free(stale)).toThrow(/freeF32: offset \d+ is not a live tensor/);
    expect(() => k.view(stale)).toThrow(/not a live tensor/);
    freeAll(b);
  });

  it('rejects bad dimensions and names', () => {
    const b = gruBuffers();
    expect(() => k.gruForward({ ...dims, batch: -1 }, DEFAULT_GRU_CONFIG, b)).toThrow(
      'gruForward: `batch` must be an integer ≥ 1, got -1',
    );
    expect(() => k.gruForward({ ...dims, units: 2.5 }, DEFAULT_GRU_CONFIG, b)).toThrow(
      '`units` must be an integer',
    );
    expect(() => k.gruForward(dims, { activation: 'swish' as 'tanh' }, b)).toThrow(
      "unknown activation 'swish'",
    );
    expect(() => k.gruForward(dims, { recurrentActivation: 'softmax' }, b)).toThrow(
      '`recurrentActivation` cannot be softmax in a GRU',
    );
    const p = k.alloc(6);
    const t = k.alloc(2);
    expect(() =>
      k.loss('focal' as 'meanSquaredError', { samples: 2, width: 3 }, { predictions: p, targets: t }),
    ).toThrow("unknown loss 'focal'");
    k.view(t).set([0, 3]);
    expect(() =>
      k.loss('sparseCategoricalCrossentropy', { samples: 2, width: 3 }, { predictions: p, targets: t }),
    ).toThrow('loss: `targets`[1] = 3 is not a class index in [0, 3)');
    expect(() => k.alloc(-3)).toThrow('alloc: `length` must be an integer ≥ 0, got -3');
    freeAll({ ...b, p, t });
  });

  it('reports running out of memory instead of trapping', () => {
    expect(() => k.alloc(0xffff_ffff)).toThrow(/allocF32: out of memory allocating 4294967295 floats/);
    if (flavour === 'threads') {
      // Past the shared memory's 1 GiB maximum: memory.grow fails.
      expect(() => k.alloc(300_000_000)).toThrow(/allocF32: out of memory allocating 300000000 floats/);
    }
    const p = k.alloc(16);
    k.free(p);
    expect(k.live().tensors).toBe(0);
  });
});

describe('a runtime without WebAssembly SIMD', () => {
  it('is refused with an error saying what is missing', async () => {
    // Such a runtime fails to validate any module with v128 instructions.
    const validate = vi.spyOn(WebAssembly, 'validate').mockReturnValue(false);
    try {
      for (const flavour of ['auto', 'simd', 'threads'] as const) {
        await expect(Kernel.load(flavour)).rejects.toThrow(
          'gru-wasm needs WebAssembly SIMD (Chrome 91+, Firefox 89+, Safari 16.4+, Node 16.4+); this runtime lacks it',
        );
      }
    } finally {
      validate.mockRestore();
    }
    expect((await Kernel.load('simd')).flavour).toBe('simd');
  });
});
