/**
 * Learning-rate schedules (Keras' formulas): functions of the optimizer's
 * step count, starting at 0.
 */
export type Schedule = (step: number) => number;

/** `lr₀ · rate^(step / decaySteps)`, the exponent floored with `staircase`. */
export function exponentialDecay(args: {
  initialLearningRate: number;
  decaySteps: number;
  decayRate: number;
  staircase?: boolean;
}): Schedule {
  positive('exponentialDecay', 'decaySteps', args.decaySteps);
  return (step) => {
    const p = step / args.decaySteps;
    return args.initialLearningRate * args.decayRate ** (args.staircase ? Math.floor(p) : p);
  };
}

/** `lr₀ · ((1 − α)·½(1 + cos(π·min(step, decaySteps)/decaySteps)) + α)` */
export function cosineDecay(args: {
  initialLearningRate: number;
  decaySteps: number;
  alpha?: number;
}): Schedule {
  positive('cosineDecay', 'decaySteps', args.decaySteps);
  const alpha = args.alpha ?? 0;
  return (step) => {
    const cosine = 0.5 * (1 + Math.cos((Math.PI * Math.min(step, args.decaySteps)) / args.decaySteps));
    return args.initialLearningRate * ((1 - alpha) * cosine + alpha);
  };
}

/** `values[0]` up to and including `boundaries[0]`, `values[1]` up to `boundaries[1]`, … */
export function piecewiseConstant(args: { boundaries: number[]; values: number[] }): Schedule {
  if (args.values.length !== args.boundaries.length + 1) {
    throw new Error(
      `piecewiseConstant: needs one more value than boundaries, got ${args.values.length} and ${args.boundaries.length}`,
    );
  }
  return (step) => {
    const i = args.boundaries.findIndex((b) => step <= b);
    return args.values[i === -1 ? args.values.length - 1 : i] as number;
  };
}

function positive(op: string, name: string, value: number): void {
  if (!(value > 0)) throw new Error(`${op}: \`${name}\` must be positive, got ${value}`);
}
