/**
 * The terminal progress display of `fit`: with verbose 1, a bar per epoch
 * redrawn after each batch (loss, metrics, ETA); with verbose 2, one line
 * per epoch. Writes to stderr in Node, to the console elsewhere.
 */
import type { Callback, Logs } from './callbacks.js';

type Write = (text: string) => void;

const nodeStderr: { isTTY?: boolean; write(text: string): unknown } | undefined =
  typeof process !== 'undefined' && process.stderr ? process.stderr : undefined;

/** The verbosity `fit` uses by default: a bar on a terminal, lines otherwise. */
export function defaultVerbosity(): 0 | 1 | 2 {
  if (!nodeStderr) return 0;
  return nodeStderr.isTTY ? 1 : 2;
}

function format(logs: Logs): string {
  return Object.entries(logs)
    .filter(([key]) => key !== 'batch' && key !== 'size')
    .map(([key, value]) => `${key}: ${value.toPrecision(4)}`)
    .join(' - ');
}

function seconds(ms: number): string {
  return ms >= 10_000 ? `${Math.round(ms / 1000)}s` : `${(ms / 1000).toFixed(1)}s`;
}

export class ProgressLogger implements Callback {
  private epochStart = 0;
  private batchesDone = 0;
  private readonly write: Write;

  /** `batchesPerEpoch` undefined: a dataset of unknown length, counted without a bar. */
  constructor(
    private readonly verbose: 1 | 2,
    private readonly epochs: number,
    private readonly batchesPerEpoch: number | undefined,
    write?: Write,
  ) {
    this.write = write ?? ((text) => (nodeStderr ? nodeStderr.write(text) : console.log(text.trimEnd())));
  }

  onEpochBegin(epoch: number): void {
    this.epochStart = performance.now();
    if (this.verbose === 1) this.write(`Epoch ${epoch + 1}/${this.epochs}\n`);
  }

  onBatchEnd(batch: number, logs: Logs): void {
    if (this.verbose !== 1) return;
    const done = batch + 1;
    this.batchesDone = done;
    const elapsed = performance.now() - this.epochStart;
    const total = this.batchesPerEpoch;
    if (total === undefined) {
      this.write(`\r${done} - ${seconds(elapsed)} - ${format(logs)}\x1b[K`);
      return;
    }
    const width = 30;
    const filled = Math.round((width * done) / total);
    const bar =
      `${'='.repeat(Math.max(0, filled - 1))}${filled > 0 ? (done === total ? '=' : '>') : ''}`.padEnd(
        width,
        '.',
      );
    const eta = (elapsed / done) * (total - done);
    this.write(`\r${done}/${total} [${bar}] - ETA ${seconds(eta)} - ${format(logs)}\x1b[K`);
  }

  onEpochEnd(epoch: number, logs: Logs): void {
    const elapsed = seconds(performance.now() - this.epochStart);
    if (this.verbose === 1) {
      const total = this.batchesPerEpoch;
      const count = total === undefined ? `${this.batchesDone}` : `${total}/${total}`;
      this.write(`\r${count} - ${elapsed} - ${format(logs)}\x1b[K\n`);
    } else this.write(`Epoch ${epoch + 1}/${this.epochs} - ${elapsed} - ${format(logs)}\n`);
  }
}
