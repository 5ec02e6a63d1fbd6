import type { Kernel } from '../kernel/kernel.js';
import type { Ptr } from '../kernel/types.js';
import { Optimizer, type OptimizerArgs } from './optimizer.js';

export interface AdagradArgs extends OptimizerArgs {
  initialAccumulatorValue?: number;
  epsilon?: number;
}

/** Adagrad (Keras 3): learning rate 0.001, initial accumulator 0.1, ε 1e-7. */
export class Adagrad extends Optimizer {
  readonly className = 'Adagrad';
  readonly initialAccumulatorValue: number;
  readonly epsilon: number;

  constructor(args: AdagradArgs = {}) {
    super(args, 0.001);
    this.initialAccumulatorValue = args.initialAccumulatorValue ?? 0.1;
    this.epsilon = args.epsilon ?? 1e-7;
    if (!(this.initialAccumulatorValue >= 0)) {
      throw new Error(
        `adagrad: \`initialAccumulatorValue\` must be ≥ 0, got ${this.initialAccumulatorValue}`,
      );
    }
  }

  protected update(
    kernel: Kernel,
    learningRate: number,
    params: readonly Ptr[],
    grads: readonly Ptr[],
  ): void {
    const accumulators = this.slot('accumulator', this.initialAccumulatorValue);
    kernel.adagradStep({ learningRate, epsilon: this.epsilon }, { params, grads, accumulators });
  }

  getConfig(): Record<string, unknown> {
    return {
      ...this.baseConfig(),
      initialAccumulatorValue: this.initialAccumulatorValue,
      epsilon: this.epsilon,
    };
  }
}
