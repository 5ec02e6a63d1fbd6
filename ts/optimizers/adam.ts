import type { Kernel } from '../kernel/kernel.js';
import type { Ptr } from '../kernel/types.js';
import { Optimizer, type OptimizerArgs } from './optimizer.js';

export interface AdamArgs extends OptimizerArgs {
  beta1?: number;
  beta2?: number;
  epsilon?: number;
  amsgrad?: boolean;
}

export interface AdamWArgs extends AdamArgs {
  /** Decoupled weight decay; Keras' default 0.004. */
  weightDecay?: number;
}

/**
 * Adam (Keras 3): learning rate 0.001, β₁ 0.9, β₂ 0.999, ε 1e-7; with
 * `weightDecay`, AdamW (`p ← p − lr·wd·p` before each update).
 */
export class Adam extends Optimizer {
  readonly className: string = 'Adam';
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
  readonly amsgrad: boolean;
  readonly weightDecay: number;

  constructor(args: AdamWArgs = {}, weightDecay = 0) {
    super(args, 0.001);
    this.beta1 = args.beta1 ?? 0.9;
    this.beta2 = args.beta2 ?? 0.999;
    this.epsilon = args.epsilon ?? 1e-7;
    this.amsgrad = args.amsgrad ?? false;
    this.weightDecay = args.weightDecay ?? weightDecay;
    for (const [name, value] of [
      ['beta1', this.beta1],
      ['beta2', this.beta2],
    ] as const) {
      if (!(value >= 0 && value < 1)) throw new Error(`adam: \`${name}\` must be in [0, 1), got ${value}`);
    }
    if (!(this.weightDecay >= 0))
      throw new Error(`adamw: \`weightDecay\` must be ≥ 0, got ${this.weightDecay}`);
  }

  protected update(
    kernel: Kernel,
    learningRate: number,
    params: readonly Ptr[],
    grads: readonly Ptr[],
  ): void {
    kernel.adamStep(
      {
        learningRate,
        beta1: this.beta1,
        beta2: this.beta2,
        epsilon: this.epsilon,
        weightDecay: this.weightDecay,
      },
      this.iterations,
      { params, grads, m: this.slot('m'), v: this.slot('v'), maxV: this.amsgrad ? this.slot('vhat') : [] },
    );
  }

  getConfig(): Record<string, unknown> {
    return {
      ...this.baseConfig(),
      beta1: this.beta1,
      beta2: this.beta2,
      epsilon: this.epsilon,
      amsgrad: this.amsgrad,
      weightDecay: this.weightDecay,
    };
  }
}

export class AdamW extends Adam {
  override readonly className = 'AdamW';

  constructor(args: AdamWArgs = {}) {
    super(args, 0.004);
  }
}
