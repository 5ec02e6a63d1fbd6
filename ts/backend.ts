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
 * Once one is loaded (or loading), asking for another flavour or build
 * rejects; a load that failed can be asked for again, differently.
 */
export async function ready(
  flavour: KernelFlavour | 'auto' = 'auto',
  options: KernelOptions = {},
): Promise<Kernel> {
  if (!loading) {
    const load = Kernel.load(flavour, options);
    loading = load;
    load.then(
      (kernel) => {
        loaded = kernel;
      },
      () => {
        if (loading === load) loading = undefined;
      },
    );
  }
  const kernel = await loading;
  const relaxed = options.relaxed ?? 'auto';
  const build = (isRelaxed: boolean) => (isRelaxed ? 'relaxed-SIMD' : 'plain SIMD');
  const conflict =
    flavour !== 'auto' && kernel.flavour !== flavour
      ? [kernel.flavour, flavour]
      : relaxed !== 'auto' && kernel.relaxed !== relaxed
        ? [build(kernel.relaxed), build(relaxed)]
        : undefined;
  if (conflict)
    throw new Error(`the ${conflict[0]} kernel is already loaded; cannot switch to ${conflict[1]}`);
  return kernel;
}

/** The loaded kernel; throws when `ready()` has not finished. */
export function kernel(): Kernel {
  if (!loaded) throw new Error('the gru-wasm kernel is not loaded: `await gw.ready()` first');
  return loaded;
}
