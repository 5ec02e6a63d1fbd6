/**
 * Keras' shape layers: `RepeatVector`, which turns a vector into a sequence
 * (a sequence autoencoder's encoding fed to its decoder GRU at every step),
 * and `Flatten`, which turns a sequence into one vector (a GRU's every
 * output step into a Dense layer).
 */
import { kernel as loadedKernel } from '../backend.js';
import type { Ptr } from '../kernel/types.js';
import { formatShape, type SampleShape, sizeOf, type Tensor } from '../tensor.js';
import { type Activation, checkInput, type LayerArgs, WeightlessLayer } from './layer.js';

export interface RepeatVectorLayerArgs extends LayerArgs {
  /** How many steps the output has: each is a copy of the input vector. */
  n: number;
}

/** `[features]` → `[n, features]`: the vector repeated at each of `n` steps. */
export class RepeatVector extends WeightlessLayer {
  readonly className = 'RepeatVector';
  readonly n: number;
  private saved: { batch: number } | undefined;

  constructor(args: RepeatVectorLayerArgs) {
    super(args, 'repeat_vector');
    if (!(Number.isInteger(args.n) && args.n > 0)) {
      throw new Error(`repeat_vector ${this.name}: n must be a positive integer, got ${args.n}`);
    }
    this.n = args.n;
  }

  computeOutputShape(inputShape: SampleShape): SampleShape {
    if (inputShape.length !== 1) {
      throw new Error(
        `repeat_vector ${this.name}: expects samples of shape [features], got ${formatShape(inputShape)}`,
      );
    }
    return [this.n, inputShape[0] ?? null];
  }

  forward(input: Activation, training: boolean): Activation {
    checkInput(this, input);
    const [batch, features] = input.shape as [number, number];
    const out = this.buffer('out', batch * this.n * features);
    const k = this.kernel;
    const [x, y] = [k.view(input.ptr), k.view(out)];
    for (let b = 0; b < batch; b++) {
      const row = x.subarray(b * features, (b + 1) * features);
      for (let t = 0; t < this.n; t++) y.set(row, (b * this.n + t) * features);
    }
    this.saved = training ? { batch } : undefined;
    return { ptr: out, shape: [batch, this.n, features] };
  }

  /** ∂L/∂x is the sum of the steps' gradients. */
  backward(dOutput: Ptr, needInputGrad: boolean): Ptr | undefined {
    if (!this.saved) throw new Error(`repeat_vector ${this.name}: backward without a training forward`);
    if (!needInputGrad) return undefined;
    const { batch } = this.saved;
    const features = this.builtInputShape[0] as number;
    const dX = this.buffer('dX', batch * features);
    const k = this.kernel;
    const [dY, dx] = [k.view(dOutput), k.view(dX)];
    dx.fill(0, 0, batch * features);
    for (let b = 0; b < batch; b++) {
      for (let t = 0; t < this.n; t++) {
        const from = (b * this.n + t) * features;
        for (let f = 0; f < features; f++) {
          const at = b * features + f;
          dx[at] = (dx[at] as number) + (dY[from + f] as number);
        }
      }
    }
    return dX;
  }

  getConfig(): Record<string, unknown> {
    return { name: this.name, n: this.n };
  }
}

/** `[steps, features]` → `[steps · features]`, in place (a new shape over the same values). */
export class Flatten extends WeightlessLayer {
  readonly className = 'Flatten';

  constructor(args: LayerArgs = {}) {
    super(args, 'flatten');
  }

  computeOutputShape(inputShape: SampleShape): SampleShape {
    if (inputShape.length === 0 || inputShape.some((d) => d === null)) {
      throw new Error(
        `flatten ${this.name}: needs samples of a fixed shape (sequences of a known number of steps), got ${formatShape(inputShape)}`,
      );
    }
    return [sizeOf(inputShape as number[])];
  }

  /** Built for the tensor's own shape: a flattened sequence has no free number of steps. */
  protected override buildFor(input: Tensor): void {
    if (!this.built) this.build(loadedKernel(), input.shape.slice(1));
  }

  forward(input: Activation, _training: boolean): Activation {
    checkInput(this, input);
    if (input.mask !== undefined) {
      // Keras' Flatten does not take masks either: the padded steps would
      // become features like any other.
      throw new Error(
        `flatten ${this.name}: its input has masked (padded) steps, which it cannot flatten away`,
      );
    }
    const [batch, ...sample] = input.shape as number[];
    return { ptr: input.ptr, shape: [batch as number, sizeOf(sample)] };
  }

  backward(dOutput: Ptr, needInputGrad: boolean): Ptr | undefined {
    return needInputGrad ? dOutput : undefined;
  }

  getConfig(): Record<string, unknown> {
    return { name: this.name };
  }
}
