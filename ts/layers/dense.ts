/** The Dense layer (Keras' `Dense`) over the last axis of 2-D or 3-D input. */
import type {
  Activation as ActivationName,
  Constraint,
  InitializerName,
  Ptr,
  Regularizer,
} from '../kernel/types.js';
import { formatShape, type SampleShape, sizeOf } from '../tensor.js';
import { type CheckedConstraint, checkConstraint } from './constraints.js';
import {
  type Activation,
  checkInput,
  checkRegularizer,
  Layer,
  type LayerArgs,
  type Weight,
} from './layer.js';

export interface DenseLayerArgs extends LayerArgs {
  units: number;
  activation?: ActivationName;
  useBias?: boolean;
  kernelInitializer?: InitializerName;
  biasInitializer?: InitializerName;
  /** Penalties on the weights, added to the loss (Keras' `kernel_regularizer`, `bias_regularizer`). */
  kernelRegularizer?: Regularizer;
  biasRegularizer?: Regularizer;
  /** Projections applied after each update (Keras' `kernel_constraint`, `bias_constraint`). */
  kernelConstraint?: Constraint;
  biasConstraint?: Constraint;
}

export class Dense extends Layer {
  readonly className = 'Dense';
  readonly units: number;
  readonly activation: ActivationName;
  readonly useBias: boolean;
  private readonly initializers: Record<'kernel' | 'bias', InitializerName>;
  readonly regularizers: Record<'kernel' | 'bias', Regularizer | undefined>;
  readonly constraints: Record<'kernel' | 'bias', CheckedConstraint | undefined>;
  private w: { kernel: Weight; bias: Weight | undefined } | undefined;
  private saved: { x: Ptr; y: Ptr; rows: number; input: number } | undefined;

  constructor(args: DenseLayerArgs) {
    super(args, 'dense');
    if (!Number.isInteger(args.units) || args.units < 1) {
      throw new Error(`dense: \`units\` must be a positive integer, got ${args.units}`);
    }
    this.units = args.units;
    this.activation = args.activation ?? 'linear';
    this.useBias = args.useBias ?? true;
    this.initializers = {
      kernel: args.kernelInitializer ?? 'glorotUniform',
      bias: args.biasInitializer ?? 'zeros',
    };
    this.regularizers = {
      kernel: checkRegularizer(args.kernelRegularizer, `dense ${this.name}: kernelRegularizer`),
      bias: checkRegularizer(args.biasRegularizer, `dense ${this.name}: biasRegularizer`),
    };
    this.constraints = {
      kernel: checkConstraint(args.kernelConstraint, `dense ${this.name}: kernelConstraint`),
      bias: checkConstraint(args.biasConstraint, `dense ${this.name}: biasConstraint`),
    };
  }

  computeOutputShape(inputShape: SampleShape): SampleShape {
    if (inputShape.length < 1 || inputShape.length > 2 || inputShape[inputShape.length - 1] === null) {
      throw new Error(
        `dense ${this.name}: expects samples of rank 1 or 2 with a known feature axis, got ${formatShape(inputShape)}`,
      );
    }
    return [...inputShape.slice(0, -1), this.units];
  }

  paramCountFor(inputShape: SampleShape): number {
    this.computeOutputShape(inputShape);
    return ((inputShape[inputShape.length - 1] as number) + (this.useBias ? 1 : 0)) * this.units;
  }

  protected createWeights(inputShape: SampleShape): void {
    this.computeOutputShape(inputShape);
    const input = inputShape[inputShape.length - 1] as number;
    this.w = {
      kernel: this.addWeight('kernel', [input, this.units], this.initializers.kernel, {
        regularizer: this.regularizers.kernel,
        constraint: this.constraints.kernel,
      }),
      bias: this.useBias
        ? this.addWeight('bias', [this.units], this.initializers.bias, {
            regularizer: this.regularizers.bias,
            constraint: this.constraints.bias,
          })
        : undefined,
    };
  }

  private get weightsOrThrow() {
    if (!this.w) throw new Error(`layer ${this.name} is not built`);
    return this.w;
  }

  forward(input: Activation, training: boolean): Activation {
    checkInput(this, input);
    const inputSize = input.shape[input.shape.length - 1] as number;
    const rows = sizeOf(input.shape) / inputSize;
    const dims = { rows, input: inputSize, units: this.units };
    const y = this.buffer('y', rows * this.units);
    const w = this.weightsOrThrow;
    this.kernel.denseForward(dims, this.activation, {
      x: input.ptr,
      kernel: w.kernel.ptr,
      bias: w.bias?.ptr,
      y,
    });
    this.saved = training ? { x: input.ptr, y, rows, input: inputSize } : undefined;
    return { ptr: y, shape: [...input.shape.slice(0, -1), this.units], mask: input.mask };
  }

  backward(dOutput: Ptr, needInputGrad: boolean): Ptr | undefined {
    if (!this.saved) throw new Error(`dense ${this.name}: backward without a training forward`);
    const { x, y, rows, input } = this.saved;
    const w = this.weightsOrThrow;
    const dX = needInputGrad ? this.buffer('dX', rows * input) : undefined;
    this.kernel.denseBackward({ rows, input, units: this.units }, this.activation, {
      x,
      kernel: w.kernel.ptr,
      y,
      dy: dOutput,
      dKernel: w.kernel.grad,
      dBias: w.bias?.grad,
      dX,
    });
    return dX;
  }

  getConfig(): Record<string, unknown> {
    return {
      name: this.name,
      units: this.units,
      activation: this.activation,
      useBias: this.useBias,
      kernelInitializer: this.initializers.kernel,
      biasInitializer: this.initializers.bias,
    };
  }
}
