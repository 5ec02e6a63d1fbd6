import type { Kernel } from '../kernel/kernel.js';
import type { Ptr } from '../kernel/types.js';
import { Optimizer, type OptimizerArgs } from './optimizer.js';

export interface SgdArgs extends OptimizerArgs {
  /** Default 0. */
  momentum?: number;
  /** Default false. */
  nesterov?: boolean;
}

/** SGD, with momentum and Nesterov momentum as Keras 3 defines them (learning rate 0.01). */
export class Sgd extends Optimizer {
  readonly className = 'SGD';
  readonly momentum: number;
  readonly nesterov: boolean;

  constructor(args: SgdArgs = {}) {
    super(args, 0.01);
    this.momentum = args.momentum ?? 0;
    this.nesterov = args.nesterov ?? false;
    if (!(this.momentum >= 0 && this.momentum < 1))
      throw new Error(`sgd: \`momentum\` must be in [0, 1), got ${this.momentum}`);
  }

  protected update(
    kernel: Kernel,
    learningRate: number,
    params: readonly Ptr[],
    grads: readonly Ptr[],
  ): void {
    const velocities = this.momentum > 0 ? this.slot('momentum') : [];
    kernel.sgdStep(
      { learningRate, momentum: this.momentum, nesterov: this.nesterov },
      { params, grads, velocities },
    );
  }

  getConfig(): Record<string, unknown> {
    return { ...this.baseConfig(), momentum: this.momentum, nesterov: this.nesterov };
  }
}
