/**
 * The kernel this process uses. `ready()` loads it once; the synchronous
 * constructors (`tensor`, layers) need it loaded.
 */
import { Kernel } from './kernel/kernel.js';
import type { KernelFlavour, KernelOptions } from './kernel/load.js';

let loading: Promise<Kernel> | undefined;
let loaded: Kernel | undefined;

/**
 * Loads the kernel (`auto`: threads where shared memory is allowed, the
 * relaxed-SIMD build where the runtime has relaxed SIMD; see `KernelOptions`).
 */
export function ready(
  flavour: KernelFlavour | 'auto' = 'auto',
  options: KernelOptions = {},
): Promise<Kernel> {
  if (loaded && flavour !== 'auto' && loaded.flavour !== flavour) {
    return Promise.reject(
      new Error(`the ${loaded.flavour} kernel is already loaded; cannot switch to ${flavour}`),
    );
  }
  const relaxed = options.relaxed ?? 'auto';
  if (loaded && relaxed !== 'auto' && loaded.relaxed !== relaxed) {
    return Promise.reject(
      new Error(
        `the ${loaded.relaxed ? 'relaxed-SIMD' : 'plain SIMD'} kernel is already loaded; cannot switch to ${relaxed ? 'relaxed-SIMD' : 'plain SIMD'}`,
      ),
    );
  }
  loading ??= Kernel.load(flavour, options).then((kernel) => {
    loaded = kernel;
    return kernel;
  });
  return loading;
}

/** The loaded kernel; throws when `ready()` has not finished. */
export function kernel(): Kernel {
  if (!loaded) throw new Error('the gru-wasm kernel is not loaded: `await gw.ready()` first');
  return loaded;
}
