/**
 * Keras' `LayerNormalization` over the last axis: each step's (or sample's)
 * features shifted to mean 0 and scaled to variance 1, then by the learned
 * `gamma` and offset by `beta`. It passes masks through, as Keras does.
 */
import type { Constraint, InitializerName, Ptr, Regularizer } from '../kernel/types.js';
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

export interface LayerNormalizationLayerArgs extends LayerArgs {
  /**
   * The normalized axis: the last, as `-1` (the default) or as Keras writes
   * it once built (the sample's rank, the batch axis counting as 0).
   */
  axis?: number;
  /** Added to the variance; default 1e-3 (Keras'). */
  epsilon?: number;
  /** Learn an offset `beta`; default true. */
  center?: boolean;
  /** Learn a scale `gamma`; default true. */
  scale?: boolean;
  betaInitializer?: InitializerName;
  gammaInitializer?: InitializerName;
  betaRegularizer?: Regularizer;
  gammaRegularizer?: Regularizer;
  betaConstraint?: Constraint;
  gammaConstraint?: Constraint;
}

type Part = 'gamma' | 'beta';

export class LayerNormalization extends Layer {
  readonly className = 'LayerNormalization';
  readonly axis: number;
  readonly epsilon: number;
  readonly center: boolean;
  readonly scale: boolean;
  readonly initializers: Record<Part, InitializerName>;
  readonly regularizers: Record<Part, Regularizer | undefined>;
  readonly constraints: Record<Part, CheckedConstraint | undefined>;
  private w: { gamma: Weight | undefined; beta: Weight | undefined } | undefined;
  private saved: { x: Ptr; statistics: Ptr; rows: number } | undefined;

  constructor(args: LayerNormalizationLayerArgs = {}) {
    super(args, 'layer_normalization');
    const what = `layer_normalization ${this.name}`;
    this.axis = args.axis ?? -1;
    if (!Number.isInteger(this.axis)) throw new Error(`${what}: axis must be an integer, got ${this.axis}`);
    this.epsilon = args.epsilon ?? 1e-3;
    if (!(this.epsilon > 0 && Number.isFinite(this.epsilon)))
      throw new Error(`${what}: epsilon must be a positive number, got ${this.epsilon}`);
    this.center = args.center ?? true;
    this.scale = args.scale ?? true;
    this.initializers = { gamma: args.gammaInitializer ?? 'ones', beta: args.betaInitializer ?? 'zeros' };
    this.regularizers = {
      gamma: checkRegularizer(args.gammaRegularizer, `${what}: gammaRegularizer`),
      beta: checkRegularizer(args.betaRegularizer, `${what}: betaRegularizer`),
    };
    this.constraints = {
      gamma: checkConstraint(args.gammaConstraint, `${what}: gammaConstraint`),
      beta: checkConstraint(args.betaConstraint, `${what}: betaConstraint`),
    };
  }

  computeOutputShape(inputShape: SampleShape): SampleShape {
    const last = inputShape[inputShape.length - 1];
    if (inputShape.length < 1 || last === null || last === undefined) {
      throw new Error(
        `layer_normalization ${this.name}: expects samples with a known feature axis, got ${formatShape(inputShape)}`,
      );
    }
    if (this.axis !== -1 && this.axis !== inputShape.length) {
      throw new Error(
        `layer_normalization ${this.name}: normalizes the last axis only (-1 or ${inputShape.length} here), got axis ${this.axis}`,
      );
    }
    return inputShape;
  }

  paramCountFor(inputShape: SampleShape): number {
    this.computeOutputShape(inputShape);
    const features = inputShape[inputShape.length - 1] as number;
    return features * ((this.scale ? 1 : 0) + (this.center ? 1 : 0));
  }

  protected createWeights(inputShape: SampleShape): void {
    this.computeOutputShape(inputShape);
    const features = inputShape[inputShape.length - 1] as number;
    // Keras' order: gamma, then beta.
    const add = (part: Part) =>
      this.addWeight(part, [features], this.initializers[part], {
        regularizer: this.regularizers[part],
        constraint: this.constraints[part],
      });
    this.w = {
      gamma: this.scale ? add('gamma') : undefined,
      beta: this.center ? add('beta') : undefined,
    };
  }

  private get weightsOrThrow() {
    if (!this.w) throw new Error(`layer ${this.name} is not built`);
    return this.w;
  }

  private dims(rows: number) {
    const shape = this.builtInputShape;
    return { rows, features: shape[shape.length - 1] as number };
  }

  forward(input: Activation, training: boolean): Activation {
    checkInput(this, input);
    const features = input.shape[input.shape.length - 1] as number;
    const rows = sizeOf(input.shape) / features;
    const y = this.buffer('y', rows * features);
    const statistics = this.buffer('statistics', rows * 2);
    const w = this.weightsOrThrow;
    this.kernel.layerNormForward(this.dims(rows), this.epsilon, {
      x: input.ptr,
      gamma: w.gamma?.ptr,
      beta: w.beta?.ptr,
      y,
      statistics,
    });
    this.saved = training ? { x: input.ptr, statistics, rows } : undefined;
    return { ...input, ptr: y };
  }

  backward(dOutput: Ptr, needInputGrad: boolean): Ptr | undefined {
    if (!this.saved) throw new Error(`layer_normalization ${this.name}: backward without a training forward`);
    const { x, statistics, rows } = this.saved;
    const dims = this.dims(rows);
    const w = this.weightsOrThrow;
    const dX = needInputGrad ? this.buffer('dX', rows * dims.features) : undefined;
    this.kernel.layerNormBackward(dims, this.epsilon, {
      x,
      gamma: w.gamma?.ptr,
      beta: w.beta?.ptr,
      statistics,
      dy: dOutput,
      dGamma: w.gamma?.grad,
      dBeta: w.beta?.grad,
      dX,
    });
    return dX;
  }

  getConfig(): Record<string, unknown> {
    return {
      name: this.name,
      axis: this.axis,
      epsilon: this.epsilon,
      center: this.center,
      scale: this.scale,
    };
  }
}
