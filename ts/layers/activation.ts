/**
 * Keras' `Activation`: an element-wise function (softmax over the last
 * axis) as a layer of its own, e.g. after a linear `dense`.
 */
import type { Activation as ActivationName, Ptr } from '../kernel/types.js';
import { type SampleShape, sizeOf } from '../tensor.js';
import { type Activation, checkInput, type LayerArgs, WeightlessLayer } from './layer.js';

export interface ActivationLayerArgs extends LayerArgs {
  activation: ActivationName;
}

export class ActivationLayer extends WeightlessLayer {
  readonly className = 'Activation';
  readonly activation: ActivationName;
  private saved: { y: Ptr; length: number; width: number } | undefined;

  constructor(args: ActivationLayerArgs) {
    super(args, 'activation');
    this.activation = args.activation;
  }

  computeOutputShape(inputShape: SampleShape): SampleShape {
    return inputShape;
  }

  forward(input: Activation, training: boolean): Activation {
    checkInput(this, input);
    const length = sizeOf(input.shape);
    const width = input.shape[input.shape.length - 1] as number;
    const y = this.buffer('y', length);
    const k = this.kernel;
    k.view(y).set(k.view(input.ptr).subarray(0, length));
    k.activationForward(this.activation, y, width);
    this.saved = training ? { y, length, width } : undefined;
    return { ...input, ptr: y };
  }

  backward(dOutput: Ptr, needInputGrad: boolean): Ptr | undefined {
    if (!this.saved) throw new Error(`activation ${this.name}: backward without a training forward`);
    if (!needInputGrad) return undefined;
    const { y, length, width } = this.saved;
    const dX = this.buffer('dX', length);
    const k = this.kernel;
    k.view(dX).set(k.view(dOutput).subarray(0, length));
    k.activationBackward(this.activation, y, dX, width);
    return dX;
  }

  getConfig(): Record<string, unknown> {
    return { name: this.name, activation: this.activation };
  }
}
