import type * as gw from '../../ts/index.js';

/**
 * Starts a two-epoch fit (batches of 64) that calls `kill` 2 ms into its
 * third batch, counting the batches that ended before the worker died.
 */
export function fitKillingAWorker(
  model: gw.Sequential,
  x: gw.Tensor,
  y: gw.Tensor,
  kill: () => void,
): { fit: Promise<gw.History>; stepsTaken(): number } {
  let steps = 0;
  const fit = model.fit(x, y, {
    epochs: 2,
    batchSize: 64,
    verbose: 0,
    callbacks: {
      onBatchEnd: () => {
        steps += 1;
      },
      onBatchBegin: (batch) => {
        if (batch === 2) setTimeout(kill, 2);
      },
    },
  });
  return { fit, stepsTaken: () => steps };
}
