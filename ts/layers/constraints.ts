/**
 * Weight constraints (Keras' `kernel_constraint` and the like): projections
 * the model applies to a weight after each optimizer update, as Keras'
 * optimizers do. The arithmetic is the kernel's; this module checks the
 * arguments and maps Keras' `axis` onto the weight's shape.
 */
import type { Kernel } from '../kernel/kernel.js';
import type { Constraint, ConstraintAxis } from '../kernel/types.js';
import type { Shape } from '../tensor.js';
import type { Weight } from './layer.js';

/** Keras' `MaxNorm`: slices with an L2 norm above `maxValue` (default 2) are scaled down to it. */
export function maxNorm(args: { maxValue?: number; axis?: ConstraintAxis } = {}): Constraint {
  return { kind: 'maxNorm', ...args };
}

/** Keras' `UnitNorm`: every slice is scaled to L2 norm 1. */
export function unitNorm(args: { axis?: ConstraintAxis } = {}): Constraint {
  return { kind: 'unitNorm', ...args };
}

/**
 * Keras' `MinMaxNorm`: each slice's L2 norm moves `rate` (default 1) of the
 * way into [`minValue` (0), `maxValue` (1)].
 */
export function minMaxNorm(
  args: { minValue?: number; maxValue?: number; rate?: number; axis?: ConstraintAxis } = {},
): Constraint {
  return { kind: 'minMaxNorm', ...args };
}

/** Keras' `NonNeg`: negative weights become 0. */
export function nonNeg(): Constraint {
  return { kind: 'nonNeg' };
}

/** Keras' defaults for the constraints' fields. */
export const CONSTRAINT_DEFAULTS = {
  axis: 0,
  maxNorm: { maxValue: 2 },
  minMaxNorm: { minValue: 0, maxValue: 1, rate: 1 },
} as const;

/** A constraint with every field given: Keras' defaults filled in by `checkConstraint`. */
export type CheckedConstraint = {
  [K in Constraint['kind']]: Required<Extract<Constraint, { kind: K }>>;
}[Constraint['kind']];

type NormConstraint = Exclude<CheckedConstraint, { kind: 'nonNeg' }>;

/** A norm constraint's bounds (see the kernel's `constrainNorms`). */
function boundsOf(constraint: NormConstraint): { min: number; max: number; rate: number } {
  switch (constraint.kind) {
    case 'maxNorm':
      return { min: 0, max: constraint.maxValue, rate: 1 };
    case 'unitNorm':
      return { min: 1, max: 1, rate: 1 };
    case 'minMaxNorm':
      return { min: constraint.minValue, max: constraint.maxValue, rate: constraint.rate };
  }
}

const FIELDS: Record<Constraint['kind'], readonly string[]> = {
  maxNorm: ['kind', 'maxValue', 'axis'],
  unitNorm: ['kind', 'axis'],
  minMaxNorm: ['kind', 'minValue', 'maxValue', 'rate', 'axis'],
  nonNeg: ['kind'],
};

/** `value` with Keras' defaults for the fields it leaves out. */
function withDefaults(value: Constraint): CheckedConstraint {
  const d = CONSTRAINT_DEFAULTS;
  switch (value.kind) {
    case 'nonNeg':
      return { kind: 'nonNeg' };
    case 'maxNorm':
      return { kind: 'maxNorm', maxValue: value.maxValue ?? d.maxNorm.maxValue, axis: value.axis ?? d.axis };
    case 'unitNorm':
      return { kind: 'unitNorm', axis: value.axis ?? d.axis };
    case 'minMaxNorm':
      return {
        kind: 'minMaxNorm',
        minValue: value.minValue ?? d.minMaxNorm.minValue,
        maxValue: value.maxValue ?? d.minMaxNorm.maxValue,
        rate: value.rate ?? d.minMaxNorm.rate,
        axis: value.axis ?? d.axis,
      };
  }
}

/**
 * A constraint argument, checked (its kind, fields, bounds and axes as
 * integers) and completed with Keras' defaults; the axes are checked against
 * a weight's rank when it is built.
 */
export function checkConstraint(value: Constraint | undefined, owner: string): CheckedConstraint | undefined {
  if (value === undefined) return undefined;
  const kind: unknown = value?.kind;
  if (typeof kind !== 'string' || !Object.hasOwn(FIELDS, kind)) {
    throw new Error(
      `${owner}: unknown constraint ${JSON.stringify(kind)} (expected ${Object.keys(FIELDS).join(', ')})`,
    );
  }
  const fields = FIELDS[value.kind];
  for (const key of Object.keys(value)) {
    if (!fields.includes(key))
      throw new Error(
        `${owner}: unknown ${value.kind} field '${key}' (expected ${fields.slice(1).join(', ')})`,
      );
  }
  const checked = withDefaults(value);
  if (checked.kind === 'nonNeg') return checked;
  const { min, max, rate } = boundsOf(checked);
  if (!(min >= 0 && min <= max && max < Number.POSITIVE_INFINITY))
    throw new Error(`${owner}: ${value.kind} needs 0 ≤ minValue ≤ maxValue < ∞, got ${min} and ${max}`);
  if (!(rate >= 0 && rate <= 1))
    throw new Error(`${owner}: ${value.kind} rate must be within [0, 1], got ${rate}`);
  const axis: unknown = checked.axis;
  const axes = typeof axis === 'number' ? [axis] : Array.isArray(axis) ? (axis as unknown[]) : [];
  if (axes.length === 0 || !axes.every((a) => Number.isInteger(a)))
    throw new Error(`${owner}: ${value.kind} axis must be an integer or a non-empty list of them`);
  return checked;
}

/**
 * Which axes of `shape`, seen as a matrix `[rows, cols]` (a vector as one
 * row), a norm constraint sums over; throws, naming `owner`, for an axis the
 * weight does not have.
 */
function normAxes(
  constraint: NormConstraint,
  shape: Shape,
  owner: string,
): { matrix: [number, number]; over: { rows: boolean; cols: boolean } } {
  const rank = shape.length;
  if (rank < 1 || rank > 2)
    throw new Error(`${owner}: constraints apply to weights of rank 1 or 2, not ${rank}`);
  const axes = new Set(
    (typeof constraint.axis === 'number' ? [constraint.axis] : constraint.axis).map((a) => {
      if (a < -rank || a >= rank)
        throw new Error(
          `${owner}: ${constraint.kind} axis ${a} is out of range for a weight of shape [${shape}]`,
        );
      return a < 0 ? a + rank : a;
    }),
  );
  if (rank === 1) return { matrix: [1, shape[0] as number], over: { rows: true, cols: true } };
  return { matrix: [shape[0] as number, shape[1] as number], over: { rows: axes.has(0), cols: axes.has(1) } };
}

/** Throws, naming `owner`, unless `constraint` fits a weight of `shape`. */
export function checkConstraintFits(constraint: CheckedConstraint, shape: Shape, owner: string): void {
  if (constraint.kind !== 'nonNeg') normAxes(constraint, shape, owner);
}

/** Projects a weight onto its constraint, in place. */
export function applyConstraint(kernel: Kernel, weight: Weight, constraint: CheckedConstraint): void {
  if (constraint.kind === 'nonNeg') {
    kernel.constrainNonNegative(weight.ptr);
    return;
  }
  const { matrix, over } = normAxes(constraint, weight.shape, weight.name);
  kernel.constrainNorms(weight.ptr, matrix, over, boundsOf(constraint));
}
