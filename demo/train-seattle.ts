/** Trains the default model on the Seattle data: shared by the demo and its test. */
import * as gw from '../ts/index.js';
import type { SeattleData } from './seattle.js';

export interface SeattleOptions {
  epochs: number;
  units: number;
  optimizer: string;
  learningRate: number;
  batchSize: number;
  seed: number;
  /** Default: a progress bar on a terminal, a line per epoch otherwise. */
  verbose?: 0 | 1 | 2;
}

export const DEFAULTS: SeattleOptions = {
  epochs: 40,
  units: 32,
  optimizer: 'adam',
  learningRate: 1e-3,
  batchSize: 32,
  seed: 42,
};

const optimizerFactories: Record<string, (lr: number) => gw.optimizers.Optimizer> = {
  adam: (learningRate) => gw.optimizers.adam({ learningRate }),
  adamw: (learningRate) => gw.optimizers.adamw({ learningRate }),
  rmsprop: (learningRate) => gw.optimizers.rmsprop({ learningRate }),
  sgd: (learningRate) => gw.optimizers.sgd({ learningRate, momentum: 0.9 }),
  adagrad: (learningRate) => gw.optimizers.adagrad({ learningRate }),
};

/**
 * GRU(units) → Dense(1, sigmoid), binary cross-entropy; keeps the weights of
 * the best validation epoch. Returns the model, its history and test accuracy.
 */
export async function trainSeattle(data: SeattleData, options: SeattleOptions) {
  const factory = optimizerFactories[options.optimizer];
  if (!factory) {
    throw new Error(
      `unknown optimizer '${options.optimizer}' (expected ${Object.keys(optimizerFactories).join(', ')})`,
    );
  }
  await gw.ready();
  gw.setRandomSeed(options.seed);
  const { window, features } = data;
  const tensors = (split: SeattleData['train']) =>
    [gw.tensor(split.x, [split.samples, window, features]), gw.tensor(split.y, [split.samples, 1])] as const;
  const [trainX, trainY] = tensors(data.train);
  const [valX, valY] = tensors(data.validation);
  const [testX, testY] = tensors(data.test);
  const model = gw.sequential();
  model.add(gw.layers.gru({ units: options.units, inputShape: [window, features] }));
  model.add(gw.layers.dense({ units: 1, activation: 'sigmoid' }));
  model.compile({
    optimizer: factory(options.learningRate),
    loss: 'binaryCrossentropy',
    metrics: ['accuracy'],
  });
  try {
    const history = await model.fit(trainX, trainY, {
      epochs: options.epochs,
      batchSize: options.batchSize,
      validationData: [valX, valY],
      seed: options.seed,
      ...(options.verbose === undefined ? {} : { verbose: options.verbose }),
      callbacks: [
        gw.callbacks.earlyStopping({ monitor: 'val_loss', patience: 10, restoreBestWeights: true }),
      ],
    });
    const [testLoss, testAccuracy] = (await model.evaluate(testX, testY)) as [number, number];
    return { model, history, testLoss, testAccuracy };
  } catch (error) {
    model.dispose();
    throw error;
  } finally {
    for (const t of [trainX, trainY, valX, valY, testX, testY]) t.dispose();
  }
}
