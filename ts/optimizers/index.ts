/** Optimizer factories (`gw.optimizers.adam(...)`) and compile-time names. */
import { Adagrad, type AdagradArgs } from './adagrad.js';
import { Adam, type AdamArgs, AdamW, type AdamWArgs } from './adam.js';
import { Optimizer } from './optimizer.js';
import { Rmsprop, type RmspropArgs } from './rmsprop.js';
import type { Schedule } from './schedules.js';
import { Sgd, type SgdArgs } from './sgd.js';

export const sgd = (args?: SgdArgs): Optimizer => new Sgd(args);
export const adam = (args?: AdamArgs): Optimizer => new Adam(args);
export const adamw = (args?: AdamWArgs): Optimizer => new AdamW(args);
export const rmsprop = (args?: RmspropArgs): Optimizer => new Rmsprop(args);
export const adagrad = (args?: AdagradArgs): Optimizer => new Adagrad(args);

export type OptimizerName = 'sgd' | 'adam' | 'adamw' | 'rmsprop' | 'adagrad';

/** An optimizer with Keras' defaults, from its name in `compile`. */
export function optimizerFromName(name: string): Optimizer {
  const factories: Record<OptimizerName, () => Optimizer> = { sgd, adam, adamw, rmsprop, adagrad };
  const factory = factories[name as OptimizerName];
  if (!factory) {
    throw new Error(
      `unknown optimizer '${name}' (expected ${Object.keys(factories).join(', ')}, or an optimizer object)`,
    );
  }
  return factory();
}

/**
 * A new optimizer of class `className` with configuration `config` (what
 * `getConfig` gave), its rate replaced by `learningRate`: a copy for another
 * thread, whose state `importState` then fills.
 */
export function optimizerFromConfig(
  className: string,
  config: Record<string, unknown>,
  learningRate: number | Schedule,
): Optimizer {
  const args = { ...config, learningRate };
  switch (className) {
    case 'SGD':
      return new Sgd(args);
    case 'Adam':
      return new Adam(args);
    case 'AdamW':
      return new AdamW(args);
    case 'RMSprop':
      return new Rmsprop(args);
    case 'Adagrad':
      return new Adagrad(args);
    default:
      throw new Error(
        `optimizer: cannot copy a ${className} to another thread (gru-wasm's own optimizers only: SGD, Adam, AdamW, RMSprop, Adagrad)`,
      );
  }
}

export type { OptimizerArgs } from './optimizer.js';
export type { AdagradArgs, AdamArgs, AdamWArgs, RmspropArgs, SgdArgs };
export { Adagrad, Adam, AdamW, Optimizer, Rmsprop, Sgd };
