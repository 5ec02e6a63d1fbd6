/**
 * The progress display of `fit` and `fitDataset`: a bar over a known number
 * of batches, a count where a dataset's length is unknown, a line per epoch.
 */
import { describe, expect, it } from 'vitest';
import { ProgressLogger } from '../ts/model/progress.js';

/** What the logger writes, with the times (which vary) replaced by `T`. */
function run(verbose: 1 | 2, batches: number | undefined): string[] {
  const written: string[] = [];
  const logger = new ProgressLogger(verbose, 2, batches, (text) =>
    written.push(text.replace(/\d+(\.\d)?s/g, 'T')),
  );
  logger.onEpochBegin(0);
  for (let b = 0; b < 4; b++) logger.onBatchEnd(b, { batch: b, size: 8, loss: 1 / (b + 1) });
  logger.onEpochEnd(0, { loss: 0.25 });
  return written;
}

describe('ProgressLogger', () => {
  it('draws a bar over a known number of batches', () => {
    expect(run(1, 4)).toEqual([
      'Epoch 1/2\n',
      '\r1/4 [=======>......................] - ETA T - loss: 1.000\x1b[K',
      '\r2/4 [==============>...............] - ETA T - loss: 0.5000\x1b[K',
      '\r3/4 [======================>.......] - ETA T - loss: 0.3333\x1b[K',
      '\r4/4 [==============================] - ETA T - loss: 0.2500\x1b[K',
      '\r4/4 - T - loss: 0.2500\x1b[K\n',
    ]);
  });

  it('counts batches where a dataset’s length is unknown', () => {
    expect(run(1, undefined)).toEqual([
      'Epoch 1/2\n',
      '\r1 - T - loss: 1.000\x1b[K',
      '\r2 - T - loss: 0.5000\x1b[K',
      '\r3 - T - loss: 0.3333\x1b[K',
      '\r4 - T - loss: 0.2500\x1b[K',
      '\r4 - T - loss: 0.2500\x1b[K\n',
    ]);
  });

  it('writes one line per epoch with verbose 2', () => {
    expect(run(2, undefined)).toEqual(['Epoch 1/2 - T - loss: 0.2500\n']);
  });
});
