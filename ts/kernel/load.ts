/**
 * Finds and instantiates one of the kernel builds:
 * - `threads`: SIMD128 + atomics over a shared `WebAssembly.Memory`, where
 *   shared memory is allowed (Node; pages that are `crossOriginIsolated`);
 * - `simd`: SIMD128 on one thread, everywhere else (a quiet fallback);
 * each also as a relaxed-SIMD build, whose GEMM micro-kernel multiply-adds
 * with `f32x4.relaxed_madd` (fused where the machine has FMA), chosen where
 * the runtime has relaxed SIMD.
 * Runtimes without WebAssembly SIMD get a clear error.
 */
import {
  relaxedSimd as relaxedSupported,
  simd as simdSupported,
  threads as threadsFeature,
} from 'wasm-feature-detect';
import type * as SimdGlue from '../../wasm/simd/gru_wasm.js';

export type KernelFlavour = 'simd' | 'threads';

/** What both builds' bindings offer (their init functions differ in detail). */
export type KernelGlue = Omit<typeof SimdGlue, 'default' | 'initSync'> & {
  default(init: { module_or_path: WebAssembly.Module; memory?: WebAssembly.Memory }): Promise<object>;
};

/** The raw exports the bindings do not wrap (threaded build). */
export interface KernelExports {
  /**
   * Frees a thread's stack and thread-local block: the calling thread's
   * without arguments, else those at `tlsBase` and `stackAlloc` (another
   * thread's, once it is gone).
   */
  __wbindgen_thread_destroy?: (tlsBase?: number, stackAlloc?: number) => void;
  /** Where this thread's thread-local block is. */
  __tls_base?: WebAssembly.Global;
  /** Where this thread's stack is. */
  __stack_alloc?: WebAssembly.Global;
}

/** Whether this runs in Node (its workers are worker_threads, its files read from disk). */
export const isNode = typeof process !== 'undefined' && typeof process.versions?.node === 'string';

/** Whether this runtime may run the threaded build. */
export async function threadsAvailable(): Promise<boolean> {
  if (typeof SharedArrayBuffer === 'undefined' || !(await threadsFeature())) return false;
  return isNode || (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true;
}

/** The build `auto` chooses here. */
export async function defaultFlavour(): Promise<KernelFlavour> {
  return (await threadsAvailable()) ? 'threads' : 'simd';
}

export interface KernelOptions {
  /**
   * The relaxed-SIMD build: faster matrix products whose multiply-adds are
   * fused where the machine has FMA, so results differ from the other
   * builds' in the last bits (and between machines with and without FMA).
   * `auto`, the default, uses it where the runtime has relaxed SIMD
   * (Chrome 114+, Node 22+; Node 20 only with `--experimental-wasm-relaxed-simd`);
   * `false` keeps results bit-identical across machines.
   */
  relaxed?: boolean | 'auto';
}

/** Whether this runtime has WebAssembly relaxed SIMD. */
export function relaxedAvailable(): Promise<boolean> {
  return relaxedSupported();
}

export interface LoadedGlue {
  glue: KernelGlue;
  flavour: KernelFlavour;
  /** The relaxed-SIMD build. */
  relaxed: boolean;
  /** The compiled module: workers instantiate it over the same memory. */
  module: WebAssembly.Module;
  exports: KernelExports;
}

/**
 * Imports and instantiates a build. Each build's bindings are a module with
 * one instance per JavaScript realm, so loading the same flavour twice
 * returns the same instance.
 */
export async function loadGlue(
  flavour: KernelFlavour | 'auto' = 'auto',
  options: KernelOptions = {},
): Promise<LoadedGlue> {
  if (!(await simdSupported())) {
    throw new Error(
      'gru-wasm needs WebAssembly SIMD (Chrome 91+, Firefox 89+, Safari 16.4+, Node 16.4+); this runtime lacks it',
    );
  }
  if (flavour !== 'auto' && flavour !== 'simd' && flavour !== 'threads') {
    throw new Error(`unknown kernel flavour '${String(flavour)}': 'auto', 'simd' or 'threads'`);
  }
  const chosen = flavour === 'auto' ? await defaultFlavour() : flavour;
  if (chosen === 'threads' && !(await threadsAvailable())) {
    throw new Error(
      "the 'threads' kernel needs shared memory: SharedArrayBuffer and, in browsers, a crossOriginIsolated page (COOP/COEP headers)",
    );
  }
  const wanted = options.relaxed ?? 'auto';
  const available = await relaxedAvailable();
  const relaxed = wanted === 'auto' ? available : wanted;
  if (relaxed && !available) {
    throw new Error(
      'the relaxed-SIMD kernel needs WebAssembly relaxed SIMD (Chrome 114+, Node 22+, or Node 20 with --experimental-wasm-relaxed-simd); this runtime lacks it',
    );
  }
  // Literal URLs and imports, one per build, so bundlers can see and copy them.
  let url: URL;
  if (chosen === 'threads') {
    url = relaxed
      ? new URL('../../wasm/threads-relaxed/gru_wasm_bg.wasm', import.meta.url)
      : new URL('../../wasm/threads/gru_wasm_bg.wasm', import.meta.url);
  } else {
    url = relaxed
      ? new URL('../../wasm/simd-relaxed/gru_wasm_bg.wasm', import.meta.url)
      : new URL('../../wasm/simd/gru_wasm_bg.wasm', import.meta.url);
  }
  const module = await compile(url);
  const glue = await importGlue(chosen, relaxed);
  const exports: KernelExports = await glue.default({ module_or_path: module });
  return { glue, flavour: chosen, relaxed, module, exports };
}

/**
 * Instantiates the threaded build in a worker over the memory of a kernel
 * loaded elsewhere: the same tensors, seen from another thread. `relaxed`
 * says which threaded build `module` is.
 */
export async function attachGlue(
  module: WebAssembly.Module,
  memory: WebAssembly.Memory,
  relaxed: boolean,
): Promise<LoadedGlue> {
  if (!(memory.buffer instanceof SharedArrayBuffer)) {
    throw new Error('attaching a worker needs the threaded kernel (its memory is not shared)');
  }
  const glue = await importGlue('threads', relaxed);
  const exports: KernelExports = await glue.default({ module_or_path: module, memory });
  return { glue, flavour: 'threads', relaxed, module, exports };
}

/** Each build's bindings, a module of their own (one instance per build and realm). */
async function importGlue(flavour: KernelFlavour, relaxed: boolean): Promise<KernelGlue> {
  if (flavour === 'threads') {
    return relaxed
      ? await import('../../wasm/threads-relaxed/gru_wasm.js')
      : await import('../../wasm/threads/gru_wasm.js');
  }
  return relaxed
    ? await import('../../wasm/simd-relaxed/gru_wasm.js')
    : await import('../../wasm/simd/gru_wasm.js');
}

async function compile(url: URL): Promise<WebAssembly.Module> {
  // readFile's buffer is never shared, which the Node typings cannot say.
  if (isNode) return WebAssembly.compile((await readNodeFile(url)) as Uint8Array<ArrayBuffer>);
  const response = await fetch(url);
  if (!response.ok) throw new Error(`cannot fetch the kernel ${url}: HTTP ${response.status}`);
  try {
    return await WebAssembly.compileStreaming(response.clone());
  } catch {
    // Servers that do not send `application/wasm` defeat streaming compilation.
    return WebAssembly.compile(await response.arrayBuffer());
  }
}

async function readNodeFile(url: URL): Promise<Uint8Array> {
  const { readFile } = await import('node:fs/promises');
  try {
    return await readFile(url);
  } catch (cause) {
    throw new Error(`cannot read the kernel ${url.pathname}: run \`npm run build\` first`, { cause });
  }
}
