/** Runs one GRU forward + backward in the kernel and returns plain arrays. */
import type { GruConfig, GruDims, Kernel, Ptr } from '../../ts/index.js';

export interface GruCase {
  kernel: Float32Array;
  recurrentKernel: Float32Array;
  bias?: Float32Array | undefined;
  x: Float32Array;
  initialState?: Float32Array | undefined;
  dOutput: Float32Array;
}

export interface GruResult {
  output: Float32Array;
  dKernel: Float32Array;
  dRecurrentKernel: Float32Array;
  dBias?: Float32Array | undefined;
  dX: Float32Array;
  dInitialState: Float32Array;
}

export function runGru(k: Kernel, dims: GruDims, config: GruConfig, data: GruCase): GruResult {
  const { batch: B, steps: T, input: I, units: H } = dims;
  const owned: Ptr[] = [];
  const own = (p: Ptr) => {
    owned.push(p);
    return p;
  };
  try {
    const weights = {
      kernel: own(k.upload(data.kernel)),
      recurrentKernel: own(k.upload(data.recurrentKernel)),
      bias: data.bias ? own(k.upload(data.bias)) : undefined,
    };
    const x = own(k.upload(data.x));
    const initialState = data.initialState ? own(k.upload(data.initialState)) : undefined;
    const output = own(k.alloc(config.returnSequences ? B * T * H : B * H));
    const cache = own(k.alloc(k.gruCacheLength(dims)));
    k.gruForward(dims, config, { ...weights, x, initialState, output, cache });
    const grads = {
      dKernel: own(k.alloc(I * 3 * H)),
      dRecurrentKernel: own(k.alloc(H * 3 * H)),
      dBias: data.bias ? own(k.alloc(data.bias.length)) : undefined,
      dX: own(k.alloc(B * T * I)),
      dInitialState: own(k.alloc(B * H)),
    };
    const dOutput = own(k.upload(data.dOutput));
    k.gruBackward(dims, config, { ...weights, x, cache, dOutput, ...grads });
    return {
      output: k.download(output),
      dKernel: k.download(grads.dKernel),
      dRecurrentKernel: k.download(grads.dRecurrentKernel),
      dBias: grads.dBias === undefined ? undefined : k.download(grads.dBias),
      dX: k.download(grads.dX),
      dInitialState: k.download(grads.dInitialState),
    };
  } finally {
    for (const p of owned) k.free(p);
  }
}
