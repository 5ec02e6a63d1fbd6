/**
 * gru-wasm: GRU networks trained and run on the CPU by a Rust kernel compiled
 * to SIMD WebAssembly.
 */
export { Kernel } from './kernel/kernel.js';
export { defaultFlavour, type KernelFlavour, threadsAvailable } from './kernel/load.js';
export {
  type Activation,
  DEFAULT_GRU_CONFIG,
  type DenseDims,
  type GruConfig,
  type GruDims,
  type GruWeights,
  type LossName,
  type Ptr,
} from './kernel/types.js';
