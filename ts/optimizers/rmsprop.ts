import type { Kernel } from '../kernel/kernel.js';
import type { Ptr } from '../kernel/types.js';
import { Optimizer, type OptimizerArgs } from './optimizer.js';

export interface RmspropArgs extends OptimizerArgs {
  rho?: number;
  momentum?: number;
  epsilon?: number;
  centered?: boolean;
}

/** RMSprop (Keras 3): learning rate 0.001, ρ 0.9, momentum 0, ε 1e-7 (inside the square root). */
export class Rmsprop extends Optimizer {
  readonly className = 'RMSprop';
  readonly rho: number;
  readonly momentum: number;
  readonly epsilon: number;
  readonly centered: boolean;

  constructor(args: RmspropArgs = {}) {
    super(args, 0.001);
    this.rho = args.rho ?? 0.9;
    this.momentum = args.momentum ?? 0;
    this.epsilon = args.epsilon ?? 1e-7;
    this.centered = args.centered ?? false;
  }

  protected update(
    kernel: Kernel,
    learningRate: number,
    params: readonly Ptr[],
    grads: readonly Ptr[],
  ): void {
    kernel.rmspropStep(
      {
        learningRate,
        rho: this.rho,
        momentum: this.momentum,
        epsilon: this.epsilon,
        centered: this.centered,
      },
      {
        params,
        grads,
        meanSquares: this.slot('velocity'),
        meanGrads: this.centered ? this.slot('average_gradient') : [],
        velocities: this.momentum > 0 ? this.slot('momentum') : [],
      },
    );
  }

  getConfig(): Record<string, unknown> {
    return {
      ...this.baseConfig(),
      rho: this.rho,
      momentum: this.momentum,
      epsilon: this.epsilon,
      centered: this.centered,
    };
  }
}
