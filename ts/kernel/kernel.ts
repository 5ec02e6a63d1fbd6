/**
 * The kernel as TypeScript sees it: allocations in the WebAssembly memory and
 * the maths entry points, each one synchronous call into Rust. Every argument
 * is checked on the Rust side against the table of live allocations; a bad
 * one throws an `Error` naming the operation and the argument.
 */
import {
  attachGlue,
  type KernelFlavour,
  type KernelGlue,
  type KernelOptions,
  type LoadedGlue,
  loadGlue,
} from './load.js';
import {
  type Activation,
  DEFAULT_GRU_CONFIG,
  type DenseDims,
  type EmbeddingDims,
  type GradientClipping,
  type GruConfig,
  type GruDims,
  type GruWeights,
  type InitializerName,
  type LossName,
  type MergeMode,
  type Ptr,
  type Regularizer,
} from './types.js';

export class Kernel {
  private readonly glue: LoadedGlue['glue'];
  readonly flavour: KernelFlavour;
  /** The relaxed-SIMD build (see `KernelOptions.relaxed`). */
  readonly relaxed: boolean;

  private constructor(private readonly loaded: LoadedGlue) {
    this.glue = explainingTraps(loaded.glue);
    this.flavour = loaded.flavour;
    this.relaxed = loaded.relaxed;
  }

  /**
   * Loads a build: `auto` picks `threads` where shared memory is allowed,
   * and the relaxed-SIMD variant where the runtime has relaxed SIMD.
   */
  static async load(flavour: KernelFlavour | 'auto' = 'auto', options: KernelOptions = {}): Promise<Kernel> {
    return new Kernel(await loadGlue(flavour, options));
  }

  /**
   * The threaded kernel of another thread, instantiated in this one over
   * its memory (`module`, `memory` and `relaxed` come from that kernel).
   */
  static async attach(
    module: WebAssembly.Module,
    memory: WebAssembly.Memory,
    relaxed: boolean,
  ): Promise<Kernel> {
    const kernel = new Kernel(await attachGlue(module, memory, relaxed));
    // Recorded so that the creator can free this thread's stack if it dies
    // before `destroyThread` (see `freeThread`).
    const { __tls_base: tls, __stack_alloc: stack } = kernel.loaded.exports;
    if (tls && stack) kernel.glue.recordThreadMemory(Number(tls.value), Number(stack.value));
    return kernel;
  }

  /** The compiled module, for workers to attach with. */
  get module(): WebAssembly.Module {
    return this.loaded.module;
  }

  /**
   * Frees this thread's packing buffers, stack and thread-local storage in
   * the shared memory: a worker's last call into an attached kernel.
   */
  destroyThread(): void {
    this.glue.leaveThread();
    this.loaded.exports.__wbindgen_thread_destroy?.();
  }

  /**
   * Makes this thread's long kernel calls (a GRU's steps) stop with an error
   * once another thread raises `word` (a one-float tensor) with
   * {@link cancelCalls}; `undefined` stops watching. `word` must stay
   * allocated while this thread runs.
   */
  watchCancel(word: Ptr | undefined): void {
    this.glue.watchCancel(word);
  }

  /** Raises `word`: the thread watching it leaves its running call at the next step. */
  cancelCalls(word: Ptr): void {
    Atomics.store(new Int32Array(this.memory.buffer, word, 1), 0, 1);
  }

  /** This thread's number among the threads of the kernel's memory. */
  get threadId(): number {
    return this.glue.threadId();
  }

  /**
   * Frees what thread `thread`, a worker that has stopped, still holds in the
   * shared memory: every tensor it allocated, its packing buffers and, unless
   * it freed them itself (`destroyThread`), its stack and thread-local
   * storage. Without this, each worker killed or crashed would leave about
   * 2 MiB behind. Throws `unusable` if the worker was stopped inside the
   * memory's allocator or one of its tables.
   */
  freeThread(thread: number): void {
    const memory = this.glue.freeThread(thread);
    if (memory) this.loaded.exports.__wbindgen_thread_destroy?.(memory[0], memory[1]);
    // A thread stopped inside the allocator shows only here: the stack's
    // free above found the allocator held for good (and left it alone).
    const unusable = this.unusable;
    if (unusable) throw unusable;
  }

  /**
   * Why the kernel's memory can no longer be used, once it cannot: a worker
   * was stopped (killed, or crashed) while it held the memory's allocator or
   * one of its tables, which may be half updated. Every later call fails
   * with this error; load a new kernel.
   */
  get unusable(): Error | undefined {
    return unusableMemory(this.glue);
  }

  /** The kernel's memory (a SharedArrayBuffer in the `threads` build). */
  get memory(): WebAssembly.Memory {
    return this.glue.kernelMemory() as WebAssembly.Memory;
  }

  /** Allocates `length` zeroed floats. */
  alloc(length: number): Ptr {
    checkCount('alloc', 'length', length);
    return this.glue.allocF32(length);
  }

  /** Allocates and fills from `values` (which may be a view of this kernel's memory). */
  upload(values: ArrayLike<number>): Ptr {
    // Growing the memory for the allocation would detach such a view.
    const source =
      values instanceof Float32Array && values.buffer === this.memory.buffer ? values.slice() : values;
    const ptr = this.alloc(source.length);
    this.view(ptr).set(source);
    return ptr;
  }

  /** A copy of an allocation's values. */
  download(ptr: Ptr): Float32Array {
    return this.view(ptr).slice();
  }

  /**
   * A live view of an allocation. Rebuilt on each call: growing the memory
   * replaces its buffer, which detaches (or leaves short) older views.
   */
  view(ptr: Ptr): Float32Array {
    const length = this.glue.lengthF32(ptr);
    if (length === undefined) {
      throw new Error(`view: offset ${ptr} is not a live tensor (disposed?)`);
    }
    return new Float32Array(this.memory.buffer, ptr, length);
  }

  /** Floats in a live allocation, or `undefined`. */
  lengthOf(ptr: Ptr): number | undefined {
    return this.glue.lengthF32(ptr);
  }

  free(ptr: Ptr): void {
    this.glue.freeF32(ptr);
  }

  /** Bytes and count of live allocations: what a leak test watches. */
  live(): { bytes: number; tensors: number } {
    return { bytes: this.glue.liveBytes(), tensors: this.glue.liveTensors() };
  }

  /** Fills a `[rows, cols]` tensor (fan in × fan out) with a Keras initializer. */
  initialize(name: InitializerName, tensor: Ptr, rows: number, cols: number, seed: number): void {
    checkDims('initialize', { rows, cols, seed }, true);
    this.glue.initialize(name, tensor, rows, cols, seed);
  }

  /** Sets every element to `value`. */
  fill(tensor: Ptr, value: number): void {
    this.glue.fill(tensor, value);
  }

  /**
   * Clips gradients in place (Keras: at most one option); returns their
   * global norm before clipping.
   */
  clipGradients(grads: readonly Ptr[], clip: GradientClipping): number {
    return this.glue.clipGradients(
      Uint32Array.from(grads),
      clip.clipnorm,
      clip.clipvalue,
      clip.globalClipnorm,
    );
  }

  /**
   * The penalty `l1·Σ|w| + l2·Σw²` of a regularized weight (Keras' L1L2);
   * with `grad`, also adds its gradient there.
   */
  regularize(weights: Ptr, grad: Ptr | undefined, penalty: Regularizer): number {
    return this.glue.regularize(weights, grad, penalty.l1 ?? 0, penalty.l2 ?? 0);
  }

  /**
   * Rescales the slices of a weight `[rows, cols]` to bounded L2 norms:
   * `w ← w · (rate·clip(n, min, max) + (1 − rate)·n) / (ε + n)` for each
   * slice's norm `n`; a norm per column when summed `overRows` only (Keras'
   * `axis = 0`), per row when `overCols` only, one when over both.
   */
  constrainNorms(
    weights: Ptr,
    [rows, cols]: readonly [number, number],
    over: { rows: boolean; cols: boolean },
    bounds: { min: number; max: number; rate: number },
  ): void {
    this.glue.constrainNorms(weights, rows, cols, over.rows, over.cols, bounds.min, bounds.max, bounds.rate);
  }

  /** Zeroes a weight's negative values (Keras' `NonNeg`). */
  constrainNonNegative(weights: Ptr): void {
    this.glue.constrainNonNegative(weights);
  }

  /**
   * Reduces the gradients of a batch's shares: `targets[p] = Σ_w
   * coefficients[w] · sources[w][p]`, summed over w in order.
   */
  weightedSum(
    targets: readonly Ptr[],
    sources: readonly (readonly Ptr[])[],
    coefficients: readonly number[],
  ): void {
    this.glue.weightedSum(
      Uint32Array.from(targets),
      Uint32Array.from(sources.flat()),
      Float32Array.from(coefficients),
    );
  }

  sgdStep(
    config: { learningRate: number; momentum: number; nesterov: boolean },
    tensors: { params: readonly Ptr[]; grads: readonly Ptr[]; velocities: readonly Ptr[] },
  ): void {
    this.glue.sgdStep(
      config.learningRate,
      config.momentum,
      config.nesterov,
      Uint32Array.from(tensors.params),
      Uint32Array.from(tensors.grads),
      Uint32Array.from(tensors.velocities),
    );
  }

  /** `step` counts from 1; `maxV` is empty unless AMSGrad. */
  adamStep(
    config: { learningRate: number; beta1: number; beta2: number; epsilon: number; weightDecay: number },
    step: number,
    tensors: {
      params: readonly Ptr[];
      grads: readonly Ptr[];
      m: readonly Ptr[];
      v: readonly Ptr[];
      maxV: readonly Ptr[];
    },
  ): void {
    this.glue.adamStep(
      config.learningRate,
      config.beta1,
      config.beta2,
      config.epsilon,
      config.weightDecay,
      step,
      Uint32Array.from(tensors.params),
      Uint32Array.from(tensors.grads),
      Uint32Array.from(tensors.m),
      Uint32Array.from(tensors.v),
      Uint32Array.from(tensors.maxV),
    );
  }

  rmspropStep(
    config: { learningRate: number; rho: number; momentum: number; epsilon: number; centered: boolean },
    tensors: {
      params: readonly Ptr[];
      grads: readonly Ptr[];
      meanSquares: readonly Ptr[];
      meanGrads: readonly Ptr[];
      velocities: readonly Ptr[];
    },
  ): void {
    this.glue.rmspropStep(
      config.learningRate,
      config.rho,
      config.momentum,
      config.epsilon,
      config.centered,
      Uint32Array.from(tensors.params),
      Uint32Array.from(tensors.grads),
      Uint32Array.from(tensors.meanSquares),
      Uint32Array.from(tensors.meanGrads),
      Uint32Array.from(tensors.velocities),
    );
  }

  adagradStep(
    config: { learningRate: number; epsilon: number },
    tensors: { params: readonly Ptr[]; grads: readonly Ptr[]; accumulators: readonly Ptr[] },
  ): void {
    this.glue.adagradStep(
      config.learningRate,
      config.epsilon,
      Uint32Array.from(tensors.params),
      Uint32Array.from(tensors.grads),
      Uint32Array.from(tensors.accumulators),
    );
  }

  /** `C ← α·op(A)·op(B) + β·C`, row-major; `op(A)` is `m × k`, `op(B)` `k × n`. */
  gemm(
    spec: {
      m: number;
      n: number;
      k: number;
      transA?: boolean;
      transB?: boolean;
      alpha?: number;
      beta?: number;
    },
    buffers: { a: Ptr; b: Ptr; c: Ptr },
  ): void {
    const { m, n, k, transA = false, transB = false, alpha = 1, beta = 0 } = spec;
    checkDims('gemm', { m, n, k }, true);
    this.glue.gemm(transA, transB, m, n, k, alpha, buffers.a, buffers.b, beta, buffers.c);
  }

  /** Floats of the cache a training forward keeps for backward. */
  gruCacheLength(dims: GruDims): number {
    checkDims('gruCacheLength', { ...dims });
    return this.glue.gruCacheLength(dims.batch, dims.steps, dims.input, dims.units);
  }

  /**
   * GRU forward over all steps of the batch, in one call.
   * `x [B,T,I]`, `initialState [B,H]` (zeros when absent), `output [B,T,H]`
   * with `returnSequences` else `[B,H]`; `cache` (training) of
   * {@link gruCacheLength} floats; `mask [B,T]` is 0 on padded steps, which
   * carry the state (and output) over unchanged; `recurrentMask [B,H]`
   * (recurrent dropout) scales the state entering the recurrent products.
   */
  gruForward(
    dims: GruDims,
    config: Partial<GruConfig>,
    buffers: GruWeights & {
      x: Ptr;
      initialState?: Ptr | undefined;
      mask?: Ptr | undefined;
      recurrentMask?: Ptr | undefined;
      output: Ptr;
      cache?: Ptr | undefined;
    },
  ): void {
    const c = { ...DEFAULT_GRU_CONFIG, ...config };
    checkDims('gruForward', { ...dims });
    this.glue.gruForward(
      dims.batch,
      dims.steps,
      dims.input,
      dims.units,
      c.resetAfter,
      c.goBackwards,
      c.returnSequences,
      c.activation,
      c.recurrentActivation,
      buffers.x,
      buffers.kernel,
      buffers.recurrentKernel,
      buffers.bias,
      buffers.initialState,
      buffers.mask,
      buffers.recurrentMask,
      buffers.output,
      buffers.cache,
    );
  }

  /** Floats of the buffer the parts of {@link gruForwardPart} share. */
  gruExchangeLength(dims: GruDims): number {
    checkDims('gruExchangeLength', { ...dims });
    return this.glue.gruExchangeLength(dims.batch, dims.steps, dims.input, dims.units);
  }

  /**
   * Part `part.index` of `part.count` of an inference forward (as
   * {@link gruForward} without cache or recurrent mask), each part on a
   * worker of its own at the same time, over one `exchange` buffer of
   * {@link gruExchangeLength} floats whose first three are zero when the
   * parts start ({@link resetGruExchange}). Each part computes a slice of
   * the units and writes it into `output`. A part that fails stops the
   * others; so does raising the exchange's abandon flag
   * ({@link abandonGruParts}).
   */
  gruForwardPart(
    dims: GruDims,
    config: Partial<GruConfig>,
    buffers: GruWeights & {
      x: Ptr;
      initialState?: Ptr | undefined;
      mask?: Ptr | undefined;
      exchange: Ptr;
      output: Ptr;
    },
    part: { index: number; count: number },
  ): void {
    const c = { ...DEFAULT_GRU_CONFIG, ...config };
    checkDims('gruForwardPart', { ...dims });
    this.glue.gruForwardPart(
      dims.batch,
      dims.steps,
      dims.input,
      dims.units,
      c.resetAfter,
      c.goBackwards,
      c.returnSequences,
      c.activation,
      c.recurrentActivation,
      buffers.x,
      buffers.kernel,
      buffers.recurrentKernel,
      buffers.bias,
      buffers.initialState,
      buffers.mask,
      buffers.exchange,
      buffers.output,
      part.index,
      part.count,
    );
  }

  /** Readies an exchange buffer for the parts of a forward: zeroes its meeting words. */
  resetGruExchange(exchange: Ptr): void {
    this.view(exchange).fill(0, 0, 3);
  }

  /** Stops the parts running over `exchange`: each returns an error at its next meeting. */
  abandonGruParts(exchange: Ptr): void {
    const words = new Int32Array(this.memory.buffer, exchange, 3);
    Atomics.store(words, 1, 1);
    // Wakes the parts blocked waiting on the arrivals count.
    Atomics.notify(words, 0);
  }

  /**
   * GRU backward through time from a forward's `cache`. `dOutput` is shaped
   * like the forward's output. Gradients are written, not accumulated.
   */
  gruBackward(
    dims: GruDims,
    config: Partial<GruConfig>,
    buffers: GruWeights & {
      x: Ptr;
      cache: Ptr;
      mask?: Ptr | undefined;
      recurrentMask?: Ptr | undefined;
      dOutput: Ptr;
      dKernel: Ptr;
      dRecurrentKernel: Ptr;
      dBias?: Ptr | undefined;
      dX?: Ptr | undefined;
      dInitialState?: Ptr | undefined;
    },
  ): void {
    const c = { ...DEFAULT_GRU_CONFIG, ...config };
    checkDims('gruBackward', { ...dims });
    this.glue.gruBackward(
      dims.batch,
      dims.steps,
      dims.input,
      dims.units,
      c.resetAfter,
      c.goBackwards,
      c.returnSequences,
      c.activation,
      c.recurrentActivation,
      buffers.x,
      buffers.kernel,
      buffers.recurrentKernel,
      buffers.bias,
      buffers.cache,
      buffers.mask,
      buffers.recurrentMask,
      buffers.dOutput,
      buffers.dKernel,
      buffers.dRecurrentKernel,
      buffers.dBias,
      buffers.dX,
      buffers.dInitialState,
    );
  }

  /** `y = act(x·W + b)`: `x [rows,I]`, `kernel [I,U]`, `bias [U]`, `y [rows,U]`. */
  denseForward(
    dims: DenseDims,
    activation: Activation,
    buffers: { x: Ptr; kernel: Ptr; bias?: Ptr | undefined; y: Ptr },
  ): void {
    checkDims('denseForward', { ...dims });
    this.glue.denseForward(
      dims.rows,
      dims.input,
      dims.units,
      activation,
      buffers.x,
      buffers.kernel,
      buffers.bias,
      buffers.y,
    );
  }

  /** Dense backward from the forward's input `x` and output `y`. */
  denseBackward(
    dims: DenseDims,
    activation: Activation,
    buffers: {
      x: Ptr;
      kernel: Ptr;
      y: Ptr;
      dy: Ptr;
      dKernel: Ptr;
      dBias?: Ptr | undefined;
      dX?: Ptr | undefined;
    },
  ): void {
    checkDims('denseBackward', { ...dims });
    this.glue.denseBackward(
      dims.rows,
      dims.input,
      dims.units,
      activation,
      buffers.x,
      buffers.kernel,
      buffers.y,
      buffers.dy,
      buffers.dKernel,
      buffers.dBias,
      buffers.dX,
    );
  }

  /**
   * Embedding forward: `out [rows, dim]` ← the table rows `ids [rows]` name
   * (integers in `[0, vocabulary)`, else an error naming the first bad one);
   * `mask [rows]` ← 0 where the id is 0, 1 elsewhere.
   */
  embeddingForward(
    dims: EmbeddingDims,
    buffers: { ids: Ptr; table: Ptr; out: Ptr; mask?: Ptr | undefined },
  ): void {
    checkDims('embeddingForward', { ...dims });
    this.glue.embeddingForward(
      dims.rows,
      dims.vocabulary,
      dims.dim,
      buffers.ids,
      buffers.table,
      buffers.out,
      buffers.mask,
    );
  }

  /** Embedding backward: `dTable [vocabulary, dim]` ← `dOut [rows, dim]` summed per id, written. */
  embeddingBackward(dims: EmbeddingDims, buffers: { ids: Ptr; dOut: Ptr; dTable: Ptr }): void {
    checkDims('embeddingBackward', { ...dims });
    this.glue.embeddingBackward(
      dims.rows,
      dims.vocabulary,
      dims.dim,
      buffers.ids,
      buffers.dOut,
      buffers.dTable,
    );
  }

  /**
   * Global pooling over steps (`average` or `max`): `x [B,T,F]` → `out
   * [B,F]`, steps where `mask [B,T]` is 0 left out (zeros when none is left).
   */
  poolingForward(
    mode: 'average' | 'max',
    dims: { batch: number; steps: number; features: number },
    buffers: { x: Ptr; mask?: Ptr | undefined; out: Ptr },
  ): void {
    checkDims('poolingForward', { ...dims });
    this.glue.poolingForward(
      mode,
      dims.batch,
      dims.steps,
      dims.features,
      buffers.x,
      buffers.mask,
      buffers.out,
    );
  }

  /** Global pooling backward: `dX [B,T,F]` from `dOut [B,F]` and the forward's buffers, written. */
  poolingBackward(
    mode: 'average' | 'max',
    dims: { batch: number; steps: number; features: number },
    buffers: { x: Ptr; mask?: Ptr | undefined; out: Ptr; dOut: Ptr; dX: Ptr },
  ): void {
    checkDims('poolingBackward', { ...dims });
    const { x, mask, out, dOut, dX } = buffers;
    this.glue.poolingBackward(mode, dims.batch, dims.steps, dims.features, x, mask, out, dOut, dX);
  }

  /**
   * Layer normalization over the last axis: `x [rows, F]` → `y [rows, F]`
   * (`γ⊙x̂ + β`, either absent where Keras' `scale` or `center` is off);
   * `statistics [rows, 2]` ← each row's mean and `1/√(σ² + ε)`, for backward.
   */
  layerNormForward(
    dims: { rows: number; features: number },
    epsilon: number,
    buffers: { x: Ptr; gamma?: Ptr | undefined; beta?: Ptr | undefined; y: Ptr; statistics: Ptr },
  ): void {
    checkDims('layerNormForward', { ...dims });
    const { x, gamma, beta, y, statistics } = buffers;
    this.glue.layerNormForward(dims.rows, dims.features, epsilon, gamma, beta, x, y, statistics);
  }

  /** Layer normalization backward from `dy` and the forward's `x` and `statistics`: the gradients given, written. */
  layerNormBackward(
    dims: { rows: number; features: number },
    epsilon: number,
    buffers: {
      x: Ptr;
      gamma?: Ptr | undefined;
      beta?: Ptr | undefined;
      statistics: Ptr;
      dy: Ptr;
      dGamma?: Ptr | undefined;
      dBeta?: Ptr | undefined;
      dX?: Ptr | undefined;
    },
  ): void {
    checkDims('layerNormBackward', { ...dims });
    const { x, gamma, beta, statistics, dy, dGamma, dBeta, dX } = buffers;
    this.glue.layerNormBackward(
      dims.rows,
      dims.features,
      epsilon,
      gamma,
      beta,
      x,
      statistics,
      dy,
      dGamma,
      dBeta,
      dX,
    );
  }

  /**
   * Keras masking over rows of `width` values: rows equal to `maskValue`
   * everywhere become zeros in `y` and 0 in `mask` (1 elsewhere).
   */
  maskingForward(x: Ptr, width: number, maskValue: number, y: Ptr, mask: Ptr): void {
    this.glue.maskingForward(x, width, maskValue, y, mask);
  }

  /** `out[r, :] = values[r, :] · mask[r]` */
  scaleRows(values: Ptr, mask: Ptr, out: Ptr): void {
    this.glue.scaleRows(values, mask, out);
  }

  /**
   * Merges a bidirectional layer's directions: `a`, `b` are `[B,T,H]`, `b`
   * reversed in time when `reverseB`; `out` is `[B,T,2H]` for concat, else
   * `[B,T,H]`.
   */
  mergeForward(
    mode: MergeMode,
    dims: { batch: number; steps: number; units: number; reverseB: boolean },
    buffers: { a: Ptr; b: Ptr; out: Ptr },
  ): void {
    this.glue.mergeForward(
      mode,
      dims.batch,
      dims.steps,
      dims.units,
      dims.reverseB,
      buffers.a,
      buffers.b,
      buffers.out,
    );
  }

  mergeBackward(
    mode: MergeMode,
    dims: { batch: number; steps: number; units: number; reverseB: boolean },
    buffers: { a: Ptr; b: Ptr; dOut: Ptr; dA: Ptr; dB: Ptr },
  ): void {
    this.glue.mergeBackward(
      mode,
      dims.batch,
      dims.steps,
      dims.units,
      dims.reverseB,
      buffers.a,
      buffers.b,
      buffers.dOut,
      buffers.dA,
      buffers.dB,
    );
  }

  /** Fills `mask` for inverted dropout: `1 / (1 − rate)` with probability `1 − rate`, else 0. */
  dropoutMask(mask: Ptr, rate: number, seed: number): void {
    this.glue.dropoutMask(mask, rate, seed);
  }

  /** `out = a ⊙ b` */
  multiply(a: Ptr, b: Ptr, out: Ptr): void {
    this.glue.multiply(a, b, out);
  }

  /** `out[b,t,:] = x[b,t,:] ⊙ mask[b,:]` for `x [B,T,I]`, `mask [B,I]`. */
  multiplyPerSequence(x: Ptr, mask: Ptr, batch: number, out: Ptr): void {
    this.glue.multiplyPerSequence(x, mask, batch, out);
  }

  /** `out = a + b` */
  add(a: Ptr, b: Ptr, out: Ptr): void {
    this.glue.add(a, b, out);
  }

  /** Applies an activation in place, over rows of `width` values. */
  activationForward(activation: Activation, values: Ptr, width: number): void {
    this.glue.activationForward(activation, values, width);
  }

  /** ∂L/∂output → ∂L/∂input in place, from the forward's output. */
  activationBackward(activation: Activation, output: Ptr, grad: Ptr, width: number): void {
    this.glue.activationBackward(activation, output, grad, width);
  }

  /**
   * Mean loss over `samples` rows of `width` predictions (Keras' reduction);
   * with `grad`, also writes ∂loss/∂predictions there.
   */
  loss(
    name: LossName,
    spec: { samples: number; width: number; fromLogits?: boolean },
    buffers: { predictions: Ptr; targets: Ptr; sampleWeights?: Ptr | undefined; grad?: Ptr | undefined },
  ): number {
    checkDims('loss', { samples: spec.samples, width: spec.width });
    return this.glue.lossForwardBackward(
      name,
      spec.fromLogits ?? false,
      spec.samples,
      spec.width,
      buffers.predictions,
      buffers.targets,
      buffers.sampleWeights,
      buffers.grad,
    );
  }
}

const U32_MAX = 0xffff_ffff;

function checkCount(op: string, name: string, value: number, allowZero = true): void {
  if (!Number.isInteger(value) || value < (allowZero ? 0 : 1) || value > U32_MAX) {
    throw new Error(`${op}: \`${name}\` must be an integer ${allowZero ? '≥ 0' : '≥ 1'}, got ${value}`);
  }
}

/**
 * Dimensions cross into wasm as u32, where JavaScript would silently wrap
 * -1 or 2.5; reject those here.
 */
function checkDims(op: string, dims: Record<string, number>, allowZero = false): void {
  for (const [name, value] of Object.entries(dims)) checkCount(op, name, value, allowZero);
}

/**
 * `glue`, whose calls throw the kernel's own explanation where they trap
 * because its memory became unusable (see `Kernel.unusable`): with the
 * allocator gone, even passing a call a string traps (`unreachable`).
 */
function explainingTraps(glue: KernelGlue): KernelGlue {
  return new Proxy(glue, {
    get(target, key) {
      const member: unknown = Reflect.get(target, key);
      if (typeof member !== 'function') return member;
      return (...args: unknown[]) => {
        try {
          return Reflect.apply(member, target, args);
        } catch (error) {
          const why = error instanceof WebAssembly.RuntimeError ? unusableMemory(target) : undefined;
          throw why ? new Error(why.message, { cause: error }) : error;
        }
      };
    },
  });
}

/** The kernel's error once its memory is unusable (see `Kernel.unusable`). */
function unusableMemory(glue: KernelGlue): Error | undefined {
  const why: unknown = glue.memoryUnusable();
  return why instanceof Error ? why : undefined;
}
