import { expect } from 'vitest';

/** max |actual − expected| */
export function maxAbsDiff(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  expect(actual.length).toBe(expected.length);
  let max = 0;
  for (let i = 0; i < actual.length; i++) {
    const d = Math.abs((actual[i] as number) - (expected[i] as number));
    max = Number.isNaN(d) ? Number.POSITIVE_INFINITY : Math.max(max, d);
  }
  return max;
}

/** Forward values: every element within `tolerance` (absolute). */
export function expectClose(
  what: string,
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  tolerance: number,
) {
  const diff = maxAbsDiff(actual, expected);
  expect(diff, `${what}: max |diff| ${diff.toExponential(2)} > ${tolerance}`).toBeLessThanOrEqual(tolerance);
}

/**
 * Gradients: max |actual − expected| relative to max |expected| (the tensor's
 * scale), so near-zero entries do not demand impossible precision.
 */
export function expectRelClose(
  what: string,
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  tolerance: number,
) {
  let scale = 0;
  for (let i = 0; i < expected.length; i++) scale = Math.max(scale, Math.abs(expected[i] as number));
  const rel = maxAbsDiff(actual, expected) / Math.max(scale, 1e-12);
  expect(rel, `${what}: relative error ${rel.toExponential(2)} > ${tolerance}`).toBeLessThanOrEqual(
    tolerance,
  );
}

/** Copies of a model's weights, in `getWeights()` order. */
export const weightsOf = (model: { getWeights(): { dataSync(): Float32Array }[] }): Float32Array[] =>
  model.getWeights().map((t) => t.dataSync());

/** A model's weights, in `getWeights()` order, as one array. */
export const flatWeights = (model: { getWeights(): { dataSync(): ArrayLike<number> }[] }): number[] =>
  model.getWeights().flatMap((w) => Array.from(w.dataSync()));
