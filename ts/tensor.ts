/**
 * Tensors: float32 values held in the kernel's memory, named by a handle.
 * Every tensor has one owner, who disposes it; a disposed tensor throws.
 */
import { kernel } from './backend.js';
import type { Kernel } from './kernel/kernel.js';
import type { Ptr } from './kernel/types.js';

export type Shape = readonly number[];
/**
 * The shape of one sample as a layer or model declares it: its first axis
 * (a sequence's time steps) may be `null`, Keras' `None`, for sequences of
 * any length, each call taking the length of the data it is given.
 */
export type SampleShape = readonly (number | null)[];
export type NestedArray = number | NestedArray[];

export class Tensor {
  readonly dtype = 'float32';
  readonly size: number;
  #ptr: Ptr | undefined;

  /** @internal Wraps an allocation this tensor now owns. */
  constructor(
    readonly shape: Shape,
    ptr: Ptr,
    private readonly owner: Kernel = kernel(),
  ) {
    this.size = sizeOf(shape);
    this.#ptr = ptr;
  }

  get rank(): number {
    return this.shape.length;
  }

  get isDisposed(): boolean {
    return this.#ptr === undefined;
  }

  /** @internal The allocation; throws once disposed. */
  get ptr(): Ptr {
    if (this.#ptr === undefined) {
      throw new Error(`this tensor (shape [${this.shape.join(', ')}]) was disposed and cannot be used`);
    }
    return this.#ptr;
  }

  /** A copy of the values. */
  async data(): Promise<Float32Array> {
    return this.dataSync();
  }

  /** @internal A copy of the values, in the kernel's thread. */
  dataSync(): Float32Array {
    return this.owner.download(this.ptr);
  }

  /**
   * @internal A live view of the values, without copying; rebuilt on each
   * call because growing the kernel's memory replaces its buffer.
   */
  view(): Float32Array {
    return this.owner.view(this.ptr);
  }

  /** The values as nested arrays of the tensor's shape. */
  async array(): Promise<NestedArray> {
    return nest(this.dataSync(), this.shape);
  }

  dispose(): void {
    if (this.#ptr !== undefined) {
      this.owner.free(this.#ptr);
      this.#ptr = undefined;
    }
  }

  toString(): string {
    return `Tensor float32 [${this.shape.join(', ')}]${this.isDisposed ? ' (disposed)' : ''}`;
  }
}

export function sizeOf(shape: Shape): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** `shape` with a `null` time axis taken as `steps` long. */
export function withSteps(shape: SampleShape, steps: number): Shape {
  return shape.map((d) => d ?? steps);
}

/** Whether a sample of `shape` fits `declared` (where `null` fits any length). */
export function fitsShape(shape: Shape, declared: SampleShape): boolean {
  return shape.length === declared.length && shape.every((d, i) => declared[i] === null || d === declared[i]);
}

/** `[2, null, 3]` as Keras' messages write it. */
export function formatShape(shape: SampleShape): string {
  return `[${shape.map((d) => d ?? 'null').join(', ')}]`;
}

/**
 * A tensor from a Float32Array (or any array of numbers) and a shape, or from
 * nested arrays whose shape is inferred; in the memory of `options.kernel`
 * (a kernel from `Kernel.load`), by default the one `gw.ready()` loaded.
 */
export function tensor(
  values: ArrayLike<number> | NestedArray,
  shape?: Shape,
  options: { kernel?: Kernel } = {},
): Tensor {
  const k = options.kernel ?? kernel();
  const { flat, inferred } = flatten(values);
  const finalShape = shape ?? inferred;
  for (const d of finalShape) {
    if (!Number.isInteger(d) || d < 0)
      throw new Error(`tensor: shape [${finalShape.join(', ')}] has a bad dimension ${d}`);
  }
  if (sizeOf(finalShape) !== flat.length) {
    throw new Error(
      `tensor: shape [${finalShape.join(', ')}] needs ${sizeOf(finalShape)} values, got ${flat.length}`,
    );
  }
  return new Tensor([...finalShape], k.upload(flat), k);
}

function flatten(values: ArrayLike<number> | NestedArray): { flat: ArrayLike<number>; inferred: Shape } {
  if (typeof values === 'number') return { flat: [values], inferred: [] };
  if (ArrayBuffer.isView(values) || !Array.isArray(values) || !values.some(Array.isArray)) {
    const flat = values as ArrayLike<number>;
    return { flat, inferred: [flat.length] };
  }
  const inferred: number[] = [];
  for (let level: NestedArray = values; Array.isArray(level); level = level[0] as NestedArray) {
    inferred.push(level.length);
  }
  const flat: number[] = [];
  const walk = (node: NestedArray, depth: number) => {
    if (depth === inferred.length) {
      if (typeof node !== 'number')
        throw new Error('tensor: nested arrays are ragged or mix numbers and arrays');
      flat.push(node);
      return;
    }
    if (!Array.isArray(node) || node.length !== inferred[depth]) {
      throw new Error(`tensor: nested arrays are ragged at depth ${depth}`);
    }
    for (const child of node) walk(child, depth + 1);
  };
  walk(values, 0);
  return { flat, inferred };
}

function nest(values: Float32Array, shape: Shape): NestedArray {
  if (shape.length === 0) return values[0] as number;
  const [first, ...rest] = shape;
  const stride = sizeOf(rest);
  return Array.from({ length: first as number }, (_, i) =>
    nest(values.subarray(i * stride, (i + 1) * stride), rest),
  );
}
