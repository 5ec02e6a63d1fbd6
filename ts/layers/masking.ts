/**
 * Keras' `Masking`: in `[B, T, F]` input, a step whose features all equal
 * `maskValue` is padding. It becomes zeros, and later layers skip it: a GRU
 * carries its state over it, the loss and metrics leave it out.
 */
import type { Ptr } from '../kernel/types.js';
import { formatShape, type SampleShape } from '../tensor.js';
import { type Activation, checkInput, type LayerArgs, WeightlessLayer } from './layer.js';

export interface MaskingLayerArgs extends LayerArgs {
  /** Default 0. */
  maskValue?: number;
}

export class Masking extends WeightlessLayer {
  readonly className = 'Masking';
  readonly maskValue: number;
  private saved: { mask: Ptr; length: number } | undefined;

  constructor(args: MaskingLayerArgs = {}) {
    super(args, 'masking');
    this.maskValue = args.maskValue ?? 0;
    if (!Number.isFinite(this.maskValue))
      throw new Error(`masking: \`maskValue\` must be finite, got ${this.maskValue}`);
  }

  computeOutputShape(inputShape: SampleShape): SampleShape {
    if (inputShape.length !== 2) {
      throw new Error(
        `masking ${this.name}: expects samples of shape [steps, features], got ${formatShape(inputShape)}`,
      );
    }
    return inputShape;
  }

  forward(input: Activation, training: boolean): Activation {
    checkInput(this, input);
    const [batch, steps, features] = input.shape as [number, number, number];
    const y = this.buffer('y', batch * steps * features);
    const mask = this.buffer('mask', batch * steps);
    this.kernel.maskingForward(input.ptr, features, this.maskValue, y, mask);
    this.saved = training ? { mask, length: batch * steps * features } : undefined;
    return { ptr: y, shape: input.shape, mask };
  }

  backward(dOutput: Ptr, needInputGrad: boolean): Ptr | undefined {
    if (!this.saved) throw new Error(`masking ${this.name}: backward without a training forward`);
    if (!needInputGrad) return undefined;
    const dX = this.buffer('dX', this.saved.length);
    this.kernel.scaleRows(dOutput, this.saved.mask, dX);
    return dX;
  }

  getConfig(): Record<string, unknown> {
    return { name: this.name, maskValue: this.maskValue };
  }
}
