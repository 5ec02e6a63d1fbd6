/**
 * The kernel this process uses. `ready()` loads it once; the synchronous
 * constructors (`tensor`, layers) need it loaded.
 */
import { Kernel } from './kernel/kernel.js';
import type { KernelFlavour } from './kernel/load.js';

let loading: Promise<Kernel> | undefined;
let loaded: Kernel | undefined;

/** Loads the kernel (`auto`: threads where shared memory is allowed). */
export function ready(flavour: KernelFlavour | 'auto' = 'auto'): Promise<Kernel> {
  if (loaded && flavour !== 'auto' && loaded.flavour !== flavour) {
    return Promise.reject(
      new Error(`the ${loaded.flavour} kernel is already loaded; cannot switch to ${flavour}`),
    );
  }
  loading ??= Kernel.load(flavour).then((kernel) => {
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
