/**
 * Keras' `Dropout`: at training time each value is zeroed with probability
 * `rate` and the rest scaled by `1 / (1 − rate)`; at inference, identity.
 */
import type { Ptr } from '../kernel/types.js';
import { nextSeed, Random } from '../random.js';
import { type SampleShape, sizeOf } from '../tensor.js';
import { type Activation, checkInput, type LayerArgs, WeightlessLayer } from './layer.js';

export interface DropoutLayerArgs extends LayerArgs {
  rate: number;
  /** Seeds this layer's masks; default: from `gw.setRandomSeed`'s generator. */
  seed?: number;
}

export function checkRate(op: string, name: string, rate: number): void {
  if (!(rate >= 0 && rate < 1)) throw new Error(`${op}: \`${name}\` must be in [0, 1), got ${rate}`);
}

export class Dropout extends WeightlessLayer {
  readonly className = 'Dropout';
  readonly rate: number;
  private readonly random: Random;
  private saved: { mask: Ptr | undefined; length: number } | undefined;

  constructor(args: DropoutLayerArgs) {
    super(args, 'dropout');
    checkRate('dropout', 'rate', args.rate);
    this.rate = args.rate;
    this.random = new Random(args.seed ?? nextSeed());
  }

  computeOutputShape(inputShape: SampleShape): SampleShape {
    return inputShape;
  }

  forward(input: Activation, training: boolean): Activation {
    checkInput(this, input);
    if (!training || this.rate === 0) {
      this.saved = training ? { mask: undefined, length: sizeOf(input.shape) } : undefined;
      return input;
    }
    const length = sizeOf(input.shape);
    const mask = this.buffer('mask', length);
    const y = this.buffer('y', length);
    this.kernel.dropoutMask(mask, this.rate, this.random.nextUint32());
    this.kernel.multiply(input.ptr, mask, y);
    this.saved = { mask, length };
    return { ...input, ptr: y };
  }

  backward(dOutput: Ptr, needInputGrad: boolean): Ptr | undefined {
    if (!this.saved) throw new Error(`dropout ${this.name}: backward without a training forward`);
    if (!needInputGrad) return undefined;
    if (this.saved.mask === undefined) return dOutput;
    const dX = this.buffer('dX', this.saved.length);
    this.kernel.multiply(dOutput, this.saved.mask, dX);
    return dX;
  }

  override randomPositions(): number[] {
    return [this.random.position];
  }

  override restoreRandomPositions(positions: readonly number[]): void {
    this.random.position = positions[0] ?? this.random.position;
  }

  getConfig(): Record<string, unknown> {
    return { name: this.name, rate: this.rate };
  }
}
