/**
 * What every layer of a Sequential model does: own its weights and their
 * gradients, run forward on a batch (keeping what backward needs when
 * training), and run backward from the gradient of its output.
 */

import { kernel as loadedKernel } from '../backend.js';
import type { Kernel } from '../kernel/kernel.js';
import { ScratchBuffers } from '../kernel/scratch.js';
import type { InitializerName, Ptr, Regularizer } from '../kernel/types.js';
import { nextSeed } from '../random.js';
import { fitsShape, formatShape, type SampleShape, type Shape, sizeOf, Tensor } from '../tensor.js';
import { type CheckedConstraint, checkConstraintFits } from './constraints.js';

/** A batch flowing between layers: its allocation and shape (batch first). */
export interface Activation {
  ptr: Ptr;
  shape: Shape;
  /**
   * `[B, T]` for a sequence batch with padded steps (0) from a Masking
   * layer: recurrent layers skip them and the loss ignores them.
   */
  mask?: Ptr | undefined;
}

/** What training does to a weight besides following its gradient. */
export interface WeightTraining {
  /** A penalty on the weight, added to the loss (Keras' regularizers). */
  regularizer?: Regularizer | undefined;
  /** A projection applied after each optimizer update (Keras' constraints). */
  constraint?: CheckedConstraint | undefined;
}

/** A trainable weight and its gradient buffer. */
export interface Weight extends WeightTraining {
  /** Keras' name, e.g. `gru/kernel`. */
  name: string;
  shape: Shape;
  ptr: Ptr;
  grad: Ptr;
}

/**
 * Weights that another model over the same shared memory allocated (a
 * worker's replica borrows the main model's), taken in build order. A layer
 * built on them allocates its own gradients and never frees the weights.
 */
export class BorrowedWeights {
  private taken = 0;

  constructor(private readonly ptrs: readonly Ptr[]) {}

  /** The next weight, checked to hold `length` floats. */
  take(kernel: Kernel, name: string, length: number): Ptr {
    const ptr = this.ptrs[this.taken];
    if (ptr === undefined) throw new Error(`borrowed weights: none left for ${name}`);
    const held = kernel.lengthOf(ptr);
    if (held !== length) {
      throw new Error(
        `borrowed weights: ${name} needs ${length} floats, offset ${ptr} holds ${held ?? 'none'}`,
      );
    }
    this.taken += 1;
    return ptr;
  }

  /** Throws unless every weight was taken. */
  assertAllTaken(): void {
    if (this.taken !== this.ptrs.length) {
      throw new Error(`borrowed weights: ${this.ptrs.length} given, the layers took ${this.taken}`);
    }
  }
}

/** How a layer gets its weights when built: initialized, zero (to be loaded), or borrowed. */
export type WeightSource = boolean | BorrowedWeights;

export interface LayerArgs {
  name?: string;
  /**
   * Shape of one sample (no batch axis); needed on the first layer. Its
   * first axis may be `null` for sequences of any length (Keras' `None`).
   */
  inputShape?: SampleShape;
  /**
   * Sequences per batch, fixed (the first dimension of Keras'
   * `batch_input_shape`): on the first layer of a model with stateful GRUs,
   * whose states carry row by row from one batch to the next.
   */
  batchSize?: number;
  /**
   * Whether training updates the layer's weights (default true; Keras'
   * `trainable`). A frozen layer still passes gradients back to the layers
   * before it. As in Keras, a change takes effect at the next `compile`.
   */
  trainable?: boolean;
}

const counters = new Map<string, number>();

function uniqueName(base: string): string {
  const n = counters.get(base) ?? 0;
  counters.set(base, n + 1);
  return n === 0 ? base : `${base}_${n}`;
}

export abstract class Layer {
  readonly name: string;
  readonly inputShape: SampleShape | undefined;
  readonly batchSize: number | undefined;
  /** Whether training updates this layer's weights (see `LayerArgs.trainable`). */
  trainable: boolean;
  /** Keras class name, for summaries and saved topologies. */
  abstract readonly className: string;
  private builtWith:
    | { kernel: Kernel; inputShape: SampleShape; scratch: ScratchBuffers; source: WeightSource }
    | undefined;
  protected readonly owned: Weight[] = [];
  /** Weights this layer uses but another model owns. */
  private readonly borrowed = new Set<Ptr>();

  constructor(args: LayerArgs, baseName: string) {
    this.name = args.name ?? uniqueName(baseName);
    this.inputShape = args.inputShape
      ? checkSampleShape(args.inputShape, `${baseName} ${this.name}`)
      : undefined;
    if (args.batchSize !== undefined && !(Number.isInteger(args.batchSize) && args.batchSize > 0)) {
      throw new Error(
        `${baseName} ${this.name}: batchSize must be a positive integer, got ${args.batchSize}`,
      );
    }
    this.batchSize = args.batchSize;
    this.trainable = args.trainable ?? true;
  }

  get built(): boolean {
    return this.builtWith !== undefined;
  }

  protected get kernel(): Kernel {
    if (!this.builtWith) throw new Error(`layer ${this.name} is not built`);
    return this.builtWith.kernel;
  }

  /** Where the weights came from, for layers that build inner layers. */
  protected get weightSource(): WeightSource {
    return this.builtWith?.source ?? true;
  }

  /** The shape of one input sample this layer was built for. */
  get builtInputShape(): SampleShape {
    if (!this.builtWith) throw new Error(`layer ${this.name} is not built`);
    return this.builtWith.inputShape;
  }

  /**
   * Creates the weights for samples of `inputShape`: allocated and
   * initialized (`true`), allocated as zeros to be loaded (`false`), or
   * borrowed from another model over the same memory.
   */
  build(kernel: Kernel, inputShape: SampleShape, source: WeightSource = true): void {
    if (this.builtWith) throw new Error(`layer ${this.name} is already built`);
    this.builtWith = { kernel, inputShape: [...inputShape], scratch: new ScratchBuffers(kernel), source };
    this.createWeights(inputShape);
  }

  /** The number of weights this layer would have for samples of `inputShape`, without allocating. */
  abstract paramCountFor(inputShape: SampleShape): number;

  /** The shape of one output sample for one input sample's shape (`null` time axes stay `null`). */
  abstract computeOutputShape(inputShape: SampleShape): SampleShape;

  /** The output's shape for an input batch of shape `[batch, ...sample]`. */
  protected outputShapeFor(input: Shape): Shape {
    const [batch, ...sample] = input;
    return [batch as number, ...(this.computeOutputShape(sample) as Shape)];
  }

  protected abstract createWeights(inputShape: SampleShape): void;

  /** Forward on a batch; with `training`, keeps what backward needs. */
  abstract forward(input: Activation, training: boolean): Activation;

  /**
   * Backward from ∂L/∂output (shaped like the last training forward's
   * output): writes the weights' gradients and returns ∂L/∂input when asked.
   */
  abstract backward(dOutput: Ptr, needInputGrad: boolean): Ptr | undefined;

  /**
   * Runs the layer on a tensor outside a model, for inference (TensorFlow.js'
   * eager `layer.apply`), building it for the tensor's sample shape on first
   * use. The caller owns the returned tensor(s).
   */
  apply(input: Tensor): Tensor | Tensor[] {
    this.buildFor(input);
    const out = this.forward({ ptr: input.ptr, shape: input.shape }, false);
    return this.copyOut(out.ptr, out.shape);
  }

  /** Builds for `input`'s samples when not built yet. */
  protected buildFor(input: Tensor): void {
    // Built for sequences of any length, as Keras builds its layers on call.
    const [, steps, ...rest] = input.shape;
    if (!this.built)
      this.build(loadedKernel(), steps === undefined ? [] : rest.length > 0 ? [null, ...rest] : [steps]);
  }

  /** A new tensor holding a copy of `length(shape)` floats at `ptr`. */
  protected copyOut(ptr: Ptr, shape: Shape): Tensor {
    const k = this.kernel;
    const copy = k.alloc(sizeOf(shape));
    k.view(copy).set(k.view(ptr).subarray(0, sizeOf(shape)));
    return new Tensor(shape, copy, k);
  }

  /** Whether the layer carries state from one batch to the next (a stateful GRU). */
  get stateful(): boolean {
    return false;
  }

  /**
   * @internal Told the batch size of the model it joins (`undefined` when
   * the model fixes none); a stateful layer needs one.
   */
  bindBatchSize(_batchSize: number | undefined): void {}

  /** Forgets the state carried between batches (stateful layers; others have none). */
  resetStates(): void {}

  /** Positions of this layer's random generators (dropout), for checkpoints. */
  randomPositions(): number[] {
    return [];
  }

  restoreRandomPositions(_positions: readonly number[]): void {}

  /** Keras-style configuration, for summaries and saving. */
  abstract getConfig(): Record<string, unknown>;

  /** Trainable weights in Keras order. */
  weights(): readonly Weight[] {
    return this.owned;
  }

  countParams(): number {
    return this.weights().reduce((sum, w) => sum + sizeOf(w.shape), 0);
  }

  /** Copies of the weights, in Keras order (TensorFlow.js' `layer.getWeights()`). */
  getWeights(): Tensor[] {
    return readWeights(this.kernel, this.weights());
  }

  /** Replaces the weights, in `getWeights()` order: all checked, then all written. */
  setWeights(values: readonly (Tensor | Float32Array)[]): void {
    writeWeights(this.kernel, this.weights(), values, `layer ${this.name}`);
  }

  /** Creates a weight (see `build`) and allocates its gradient. */
  protected addWeight(
    name: string,
    shape: Shape,
    initializer: InitializerName,
    { regularizer, constraint }: WeightTraining = {},
  ): Weight {
    const k = this.kernel;
    const length = sizeOf(shape);
    const fullName = `${this.name}/${name}`;
    if (constraint) checkConstraintFits(constraint, shape, `layer ${this.name}: ${name}`);
    const source = this.weightSource;
    let ptr: Ptr;
    if (source instanceof BorrowedWeights) {
      ptr = source.take(k, fullName, length);
      this.borrowed.add(ptr);
    } else {
      ptr = k.alloc(length);
      // Keras' fan in/out: all but the last axis, and the last axis.
      const cols = shape[shape.length - 1] ?? 1;
      if (source) k.initialize(initializer, ptr, length / cols, cols, nextSeed());
    }
    const weight = { name: fullName, shape: [...shape], ptr, grad: k.alloc(length), regularizer, constraint };
    this.owned.push(weight);
    return weight;
  }

  /**
   * A scratch buffer of `length` floats, kept between batches and replaced
   * when the length changes (the last, shorter batch of an epoch).
   */
  protected buffer(name: string, length: number): Ptr {
    if (!this.builtWith) throw new Error(`layer ${this.name} is not built`);
    return this.builtWith.scratch.get(name, length);
  }

  /** Frees the weights, gradients and scratch buffers. */
  dispose(): void {
    if (!this.builtWith) return;
    const k = this.builtWith.kernel;
    for (const w of this.owned) {
      if (!this.borrowed.has(w.ptr)) k.free(w.ptr);
      k.free(w.grad);
    }
    this.borrowed.clear();
    this.builtWith.scratch.dispose();
    this.owned.length = 0;
    this.builtWith = undefined;
  }
}

/** Checks that a batch's per-sample shape is what the layer was built for. */
/**
 * A layer without weights (activation, dropout, masking, pooling, shape
 * layers): building it only checks the input's shape.
 */
export abstract class WeightlessLayer extends Layer {
  paramCountFor(inputShape: SampleShape): number {
    this.computeOutputShape(inputShape);
    return 0;
  }

  protected createWeights(inputShape: SampleShape): void {
    this.computeOutputShape(inputShape);
  }
}

export function checkInput(layer: Layer, input: Activation): void {
  const expected = layer.builtInputShape;
  const got = input.shape.slice(1);
  if (!fitsShape(got, expected)) {
    throw new Error(
      `layer ${layer.name} expects samples of shape ${formatShape(expected)}, got ${formatShape(got)} (batch shape ${formatShape(input.shape)})`,
    );
  }
}

/**
 * A declared sample shape, checked: positive integer dimensions, of which
 * only the first (a sequence's time axis) may be `null`.
 */
export function checkSampleShape(shape: SampleShape, owner: string): SampleShape {
  const fine = shape.every((d, i) => (d === null ? i === 0 : Number.isInteger(d) && d > 0));
  if (!fine) {
    throw new Error(
      `${owner}: inputShape ${formatShape(shape)} must have positive integer dimensions, of which only the first (time steps) may be null`,
    );
  }
  return [...shape];
}

/** New tensors holding copies of `weights`' values. */
export function readWeights(kernel: Kernel, weights: readonly Weight[]): Tensor[] {
  return weights.map((w) => new Tensor(w.shape, kernel.upload(kernel.view(w.ptr)), kernel));
}

/**
 * Writes `values` into `weights`, one each, after checking every one's
 * count and shape (a Tensor's shape must match; a Float32Array its size):
 * all or nothing. `owner` ("the model", "layer gru") is named in the errors.
 */
export function writeWeights(
  kernel: Kernel,
  weights: readonly Weight[],
  values: readonly (Tensor | Float32Array)[],
  owner: string,
): void {
  if (values.length !== weights.length) {
    throw new Error(`setWeights: ${owner} has ${weights.length} weights, got ${values.length}`);
  }
  const arrays = values.map((v, i) => {
    const w = weights[i] as Weight;
    if (v instanceof Tensor && !(v.rank === w.shape.length && v.shape.every((d, j) => d === w.shape[j]))) {
      throw new Error(`setWeights: ${w.name} has shape [${w.shape.join(', ')}], got [${v.shape.join(', ')}]`);
    }
    const array = v instanceof Tensor ? v.dataSync() : v;
    if (array.length !== sizeOf(w.shape)) {
      throw new Error(
        `setWeights: ${w.name} has ${sizeOf(w.shape)} values (shape [${w.shape.join(', ')}]), got ${array.length}`,
      );
    }
    return array;
  });
  for (const [i, array] of arrays.entries()) kernel.view((weights[i] as Weight).ptr).set(array);
}

/**
 * A regularizer argument, checked: `l1` and `l2` finite and ≥ 0; `undefined`
 * when absent or both zero (no penalty to compute).
 */
export function checkRegularizer(value: Regularizer | undefined, owner: string): Regularizer | undefined {
  if (value === undefined) return undefined;
  for (const key of Object.keys(value)) {
    if (key !== 'l1' && key !== 'l2')
      throw new Error(`${owner}: unknown regularizer field '${key}' (expected l1, l2)`);
  }
  for (const key of ['l1', 'l2'] as const) {
    const v = value[key];
    if (v !== undefined && !(typeof v === 'number' && v >= 0 && v < Number.POSITIVE_INFINITY))
      throw new Error(`${owner}: ${key} must be a finite number ≥ 0, got ${v}`);
  }
  return (value.l1 ?? 0) === 0 && (value.l2 ?? 0) === 0
    ? undefined
    : { l1: value.l1 ?? 0, l2: value.l2 ?? 0 };
}
