/**
 * The optimizer base: learning rate (a number or a schedule), Keras'
 * clipping, a step counter, and per-parameter state tensors in the kernel.
 * Each update is one fused kernel call over all parameters.
 */
import type { Kernel } from '../kernel/kernel.js';
import type { GradientClipping, Ptr } from '../kernel/types.js';
import type { Schedule } from './schedules.js';

export interface OptimizerArgs extends GradientClipping {
  learningRate?: number | Schedule;
}

/** A named state slot: one tensor per parameter, like the parameter. */
interface Slot {
  name: string;
  tensors: Ptr[];
}

/** An optimizer's progress, as a checkpoint keeps it. */
export interface OptimizerState {
  className: string;
  iterations: number;
  /** The current rate when it is a number (ReduceLROnPlateau may have changed it). */
  learningRate: number | undefined;
  slots: { name: string; values: Float32Array[] }[];
}

export abstract class Optimizer {
  abstract readonly className: string;
  /** Updates applied so far (Keras' `iterations`). */
  iterations = 0;
  private learningRate: number | Schedule;
  private readonly clipping: GradientClipping;
  private state:
    | { kernel: Kernel; params: readonly Ptr[]; lengths: number[]; slots: Map<string, Slot> }
    | undefined;

  constructor(args: OptimizerArgs, defaultLearningRate: number) {
    this.learningRate = args.learningRate ?? defaultLearningRate;
    if (typeof this.learningRate === 'number' && !(this.learningRate > 0)) {
      throw new Error(
        `${this.constructor.name}: \`learningRate\` must be positive, got ${this.learningRate}`,
      );
    }
    const set = (['clipnorm', 'clipvalue', 'globalClipnorm'] as const).filter((k) => args[k] !== undefined);
    if (set.length > 1)
      throw new Error(
        `optimizer: set only one of clipnorm, clipvalue, globalClipnorm (got ${set.join(', ')})`,
      );
    for (const name of set) {
      const value = args[name] as number;
      if (!(value > 0) || !Number.isFinite(value)) {
        throw new Error(`optimizer: \`${name}\` must be a positive number, got ${value}`);
      }
    }
    this.clipping = {
      clipnorm: args.clipnorm,
      clipvalue: args.clipvalue,
      globalClipnorm: args.globalClipnorm,
    };
  }

  /** The learning rate the next update uses. */
  get currentLearningRate(): number {
    return this.learningRateAt(this.iterations);
  }

  /** The rate at step `step`: the constant, or the schedule's value there. */
  learningRateAt(step: number): number {
    return typeof this.learningRate === 'number' ? this.learningRate : this.learningRate(step);
  }

  /** The constant rate, or undefined while it follows a schedule. */
  get fixedLearningRate(): number | undefined {
    return typeof this.learningRate === 'number' ? this.learningRate : undefined;
  }

  /** Replaces the learning rate (as ReduceLROnPlateau does). */
  setLearningRate(value: number): void {
    if (!(value > 0)) throw new Error(`optimizer: learning rate must be positive, got ${value}`);
    this.learningRate = value;
  }

  /** Clips `grads` in place, then updates `params`; returns the gradients' global norm. */
  apply(kernel: Kernel, params: readonly Ptr[], grads: readonly Ptr[]): number {
    if (!this.state) {
      const lengths = params.map((p) => {
        const length = kernel.lengthOf(p);
        if (length === undefined) throw new Error('optimizer: a parameter is not a live tensor');
        return length;
      });
      this.state = { kernel, params: [...params], lengths, slots: new Map() };
    } else if (!sameOffsets(this.state.params, params)) {
      throw new Error(
        'optimizer: already bound to another set of parameters; create one optimizer per model',
      );
    }
    const norm = kernel.clipGradients(grads, this.clipping);
    const lr = this.currentLearningRate;
    this.iterations += 1;
    this.update(kernel, lr, params, grads);
    return norm;
  }

  protected abstract update(
    kernel: Kernel,
    learningRate: number,
    params: readonly Ptr[],
    grads: readonly Ptr[],
  ): void;

  /** The state tensors named `name`, allocated on first use and filled with `initial`. */
  protected slot(name: string, initial = 0): Ptr[] {
    if (!this.state) throw new Error('optimizer: no parameters bound');
    const held = this.state.slots.get(name);
    if (held) return held.tensors;
    const k = this.state.kernel;
    const tensors = this.state.lengths.map((length) => {
      const ptr = k.alloc(length);
      if (initial !== 0) k.fill(ptr, initial);
      return ptr;
    });
    this.state.slots.set(name, { name, tensors });
    return tensors;
  }

  /** A copy of the step count, learning rate and state tensors, for a checkpoint. */
  exportState(): OptimizerState {
    const slots = this.state
      ? [...this.state.slots.values()].map((slot) => ({
          name: slot.name,
          values: slot.tensors.map((p) => (this.state as { kernel: Kernel }).kernel.download(p)),
        }))
      : [];
    return {
      className: this.className,
      iterations: this.iterations,
      learningRate: this.fixedLearningRate,
      slots,
    };
  }

  /**
   * Restores what `exportState` gave, for the parameters `params`. State
   * tensors already held for the same parameters are overwritten in place.
   */
  importState(kernel: Kernel, params: readonly Ptr[], saved: OptimizerState): void {
    if (saved.className !== this.className) {
      throw new Error(`optimizer: the saved state is ${saved.className} state, not ${this.className}`);
    }
    const lengths = params.map((p) => kernel.lengthOf(p) ?? 0);
    for (const slot of saved.slots) {
      if (slot.values.length !== params.length || slot.values.some((v, i) => v.length !== lengths[i])) {
        throw new Error(`optimizer: saved slot '${slot.name}' does not match the model's parameters`);
      }
    }
    const bound = this.state;
    const same = bound?.kernel === kernel && sameOffsets(bound.params, params);
    if (!same) this.dispose();
    const state =
      same && bound ? bound : { kernel, params: [...params], lengths, slots: new Map<string, Slot>() };
    this.state = state;
    for (const [name, slot] of state.slots) {
      if (saved.slots.some((s) => s.name === name)) continue;
      for (const p of slot.tensors) kernel.free(p);
      state.slots.delete(name);
    }
    for (const slot of saved.slots) {
      const held = state.slots.get(slot.name);
      if (held) {
        slot.values.forEach((v, i) => {
          kernel.view(held.tensors[i] as Ptr).set(v);
        });
      } else
        state.slots.set(slot.name, { name: slot.name, tensors: slot.values.map((v) => kernel.upload(v)) });
    }
    this.iterations = saved.iterations;
    if (saved.learningRate !== undefined && typeof this.learningRate === 'number')
      this.learningRate = saved.learningRate;
  }

  /** Keras-style configuration. */
  abstract getConfig(): Record<string, unknown>;

  protected baseConfig(): Record<string, unknown> {
    return {
      learningRate: typeof this.learningRate === 'number' ? this.learningRate : 'schedule',
      ...Object.fromEntries(Object.entries(this.clipping).filter(([, v]) => v !== undefined)),
    };
  }

  /** Frees the state tensors. */
  dispose(): void {
    if (!this.state) return;
    for (const slot of this.state.slots.values()) for (const p of slot.tensors) this.state.kernel.free(p);
    this.state = undefined;
  }
}

function sameOffsets(a: readonly Ptr[], b: readonly Ptr[]): boolean {
  return a.length === b.length && a.every((p, i) => p === b[i]);
}
