/**
 * `npm run demo`: trains a GRU on the bundled Seattle weather data to predict
 * tomorrow's rain, and compares its test accuracy with two naive baselines.
 *
 * Flags: --data <csv> (default data/seattle-weather.csv), --epochs, --units,
 * --optimizer (adam, adamw, rmsprop, sgd, adagrad), --learning-rate,
 * --batch-size, --seed, --save <dir> (default output/seattle-gru).
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import * as gw from '../ts/index.js';
import { majorityAccuracy, persistenceAccuracy, seattleFromCsv } from './seattle.js';
import { DEFAULTS, trainSeattle } from './train-seattle.js';

const { values } = parseArgs({
  options: {
    data: { type: 'string', default: new URL('../data/seattle-weather.csv', import.meta.url).pathname },
    epochs: { type: 'string', default: String(DEFAULTS.epochs) },
    units: { type: 'string', default: String(DEFAULTS.units) },
    optimizer: { type: 'string', default: DEFAULTS.optimizer },
    'learning-rate': { type: 'string', default: String(DEFAULTS.learningRate) },
    'batch-size': { type: 'string', default: String(DEFAULTS.batchSize) },
    seed: { type: 'string', default: String(DEFAULTS.seed) },
    save: { type: 'string', default: new URL('../output/seattle-gru', import.meta.url).pathname },
  },
});

function integer(name: string, text: string | undefined): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1)
    throw new Error(`--${name} must be a positive integer, got '${text}'`);
  return value;
}

const data = seattleFromCsv(await readFile(values.data as string, 'utf8'));
const kernel = await gw.ready();
console.log(`gru-wasm demo: will it rain in Seattle tomorrow? (${kernel.flavour} kernel)`);
console.log(
  `  ${data.train.samples} training windows (${data.dates.train.join(' to ')}), ${data.validation.samples} validation, ` +
    `${data.test.samples} test (${data.dates.test.join(' to ')}); ${data.window} days × ${data.features} features\n`,
);

const started = performance.now();
const { model, history, testAccuracy } = await trainSeattle(data, {
  ...DEFAULTS,
  epochs: integer('epochs', values.epochs),
  units: integer('units', values.units),
  optimizer: values.optimizer as string,
  learningRate: Number(values['learning-rate']),
  batchSize: integer('batch-size', values['batch-size']),
  seed: integer('seed', values.seed),
});
const seconds = (performance.now() - started) / 1000;
const valLoss = history.history.val_loss ?? [];
const best = valLoss.indexOf(Math.min(...valLoss));
console.log(
  `\ntrained ${history.epoch.length} epochs in ${seconds.toFixed(1)} s; best validation loss at epoch ${best + 1}\n`,
);

const rows: [string, number][] = [
  ['GRU (gru-wasm)', testAccuracy],
  ['persistence: tomorrow like today', persistenceAccuracy(data.test)],
  ['majority class of the training days', majorityAccuracy(data.train, data.test)],
];
console.log('test accuracy');
for (const [name, accuracy] of rows) console.log(`  ${name.padEnd(38)} ${(100 * accuracy).toFixed(1)} %`);
const [, persistence] = rows[1] as [string, number];
console.log(
  testAccuracy > persistence
    ? '\nthe GRU beats persistence.'
    : '\nthe GRU does not beat persistence this time.',
);
const saved = await model.save(values.save as string);
console.log(
  `model saved in the TensorFlow.js layers format: ${saved.modelJson} (+ ${saved.bytes} bytes of weights)`,
);
model.dispose();
