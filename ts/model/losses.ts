/** The losses `compile` takes, by Keras' and TensorFlow.js' names. */
import type { LossName } from '../kernel/types.js';

export const LOSSES: readonly LossName[] = [
  'binaryCrossentropy',
  'categoricalCrossentropy',
  'sparseCategoricalCrossentropy',
  'meanSquaredError',
  'meanAbsoluteError',
  'meanAbsolutePercentageError',
  'meanSquaredLogarithmicError',
  'huber',
  'logcosh',
  'poisson',
  'kullbackLeiblerDivergence',
  'hinge',
  'squaredHinge',
  'categoricalHinge',
  'cosineSimilarity',
];

export const LOSS_ALIASES = {
  mse: 'meanSquaredError',
  mae: 'meanAbsoluteError',
  mape: 'meanAbsolutePercentageError',
  msle: 'meanSquaredLogarithmicError',
  kld: 'kullbackLeiblerDivergence',
  cosineProximity: 'cosineSimilarity',
} as const satisfies Record<string, LossName>;

export type LossAlias = keyof typeof LOSS_ALIASES;

/** The loss a name or alias stands for, or `undefined`. */
export function lossNamed(name: string): LossName | undefined {
  const loss = Object.hasOwn(LOSS_ALIASES, name) ? LOSS_ALIASES[name as LossAlias] : name;
  return (LOSSES as readonly string[]).includes(loss) ? (loss as LossName) : undefined;
}
