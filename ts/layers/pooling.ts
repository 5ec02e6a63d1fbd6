/**
 * Keras' `GlobalAveragePooling1D` and `GlobalMaxPooling1D`: each sequence
 * `[steps, features]` reduced over its steps to `[features]`. Masked
 * (padded) steps are left out, as Keras' average pooling leaves them out of
 * its mean; a sequence with no real step pools to zeros.
 */
import type { Ptr } from '../kernel/types.js';
import { formatShape, type SampleShape } from '../tensor.js';
import { type Activation, checkInput, type LayerArgs, WeightlessLayer } from './layer.js';

export type PoolingMode = 'average' | 'max';

export class GlobalPooling1D extends WeightlessLayer {
  readonly className: 'GlobalAveragePooling1D' | 'GlobalMaxPooling1D';
  private saved: { x: Ptr; mask: Ptr | undefined; out: Ptr; batch: number; steps: number } | undefined;

  constructor(
    args: LayerArgs,
    readonly mode: PoolingMode,
  ) {
    super(args, mode === 'average' ? 'global_average_pooling1d' : 'global_max_pooling1d');
    this.className = mode === 'average' ? 'GlobalAveragePooling1D' : 'GlobalMaxPooling1D';
  }

  computeOutputShape(inputShape: SampleShape): SampleShape {
    if (inputShape.length !== 2) {
      throw new Error(
        `${this.className} ${this.name}: expects samples of shape [steps, features], got ${formatShape(inputShape)}`,
      );
    }
    return [inputShape[1] ?? null];
  }

  private dims(batch: number, steps: number) {
    return { batch, steps, features: this.builtInputShape[1] as number };
  }

  forward(input: Activation, training: boolean): Activation {
    checkInput(this, input);
    const [batch, steps, features] = input.shape as [number, number, number];
    const out = this.buffer('out', batch * features);
    const buffers = { x: input.ptr, mask: input.mask, out };
    this.kernel.poolingForward(this.mode, this.dims(batch, steps), buffers);
    this.saved = training ? { ...buffers, batch, steps } : undefined;
    // The steps are gone, and with them the mask.
    return { ptr: out, shape: [batch, features] };
  }

  backward(dOutput: Ptr, needInputGrad: boolean): Ptr | undefined {
    if (!this.saved) throw new Error(`${this.className} ${this.name}: backward without a training forward`);
    if (!needInputGrad) return undefined;
    const { x, mask, out, batch, steps } = this.saved;
    const dims = this.dims(batch, steps);
    const dX = this.buffer('dX', batch * steps * dims.features);
    this.kernel.poolingBackward(this.mode, dims, { x, mask, out, dOut: dOutput, dX });
    return dX;
  }

  getConfig(): Record<string, unknown> {
    return { name: this.name };
  }
}
