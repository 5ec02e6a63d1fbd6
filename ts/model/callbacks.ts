/**
 * Callbacks: hooks `fit` awaits at the start and end of training, of each
 * epoch and of each batch (TensorFlow.js' names), and Keras' EarlyStopping,
 * ReduceLROnPlateau and ModelCheckpoint.
 */
export type Logs = Record<string, number>;

/** What a callback may ask of the model being trained. */
export interface TrainingModel {
  stopTraining: boolean;
  /** A copy of every weight's values. */
  snapshotWeights(): Float32Array[];
  restoreWeights(values: readonly Float32Array[]): void;
  /** Saves topology and weights where `model.save` would. */
  save(destination: string): Promise<unknown>;
  readonly optimizer: { currentLearningRate: number; setLearningRate(value: number): void };
}

export interface Callback {
  setModel?(model: TrainingModel): void;
  onTrainBegin?(logs: Logs): void | Promise<void>;
  onTrainEnd?(logs: Logs): void | Promise<void>;
  onEpochBegin?(epoch: number, logs: Logs): void | Promise<void>;
  onEpochEnd?(epoch: number, logs: Logs): void | Promise<void>;
  onBatchBegin?(batch: number, logs: Logs): void | Promise<void>;
  onBatchEnd?(batch: number, logs: Logs): void | Promise<void>;
}

type Mode = 'auto' | 'min' | 'max';

/** Tracks the best value of a monitored log entry. */
class Monitor {
  private best: number;
  private readonly sign: number;

  constructor(
    readonly name: string,
    mode: Mode,
    private readonly minDelta: number,
  ) {
    const maximize = mode === 'max' || (mode === 'auto' && /acc/.test(name));
    this.sign = maximize ? 1 : -1;
    this.best = this.worst;
  }

  private get worst(): number {
    return -this.sign * Number.POSITIVE_INFINITY;
  }

  reset(): void {
    this.best = this.worst;
  }

  /** The monitored value, or undefined (with one warning) when absent. */
  read(logs: Logs, owner: string): number | undefined {
    const value = logs[this.name];
    if (value === undefined && !this.warned) {
      this.warned = true;
      console.warn(`${owner}: '${this.name}' is not in the logs (have: ${Object.keys(logs).join(', ')})`);
    }
    return value;
  }

  private warned = false;

  /** Whether `value` improves on the best so far; if so, it becomes the best. */
  improves(value: number): boolean {
    const better = this.sign * (value - this.best) > Math.abs(this.minDelta);
    if (better) this.best = value;
    return better;
  }
}

export interface EarlyStoppingArgs {
  monitor?: string;
  minDelta?: number;
  patience?: number;
  mode?: Mode;
  /** Restore the weights of the best epoch when stopping. */
  restoreBestWeights?: boolean;
}

export class EarlyStopping implements Callback {
  private model: TrainingModel | undefined;
  private readonly monitor: Monitor;
  private readonly patience: number;
  private readonly restoreBestWeights: boolean;
  private wait = 0;
  private bestWeights: Float32Array[] | undefined;
  /** The epoch training stopped at, or 0. */
  stoppedEpoch = 0;

  constructor(args: EarlyStoppingArgs = {}) {
    this.monitor = new Monitor(args.monitor ?? 'val_loss', args.mode ?? 'auto', args.minDelta ?? 0);
    this.patience = args.patience ?? 0;
    this.restoreBestWeights = args.restoreBestWeights ?? false;
  }

  setModel(model: TrainingModel): void {
    this.model = model;
  }

  onTrainBegin(): void {
    this.wait = 0;
    this.stoppedEpoch = 0;
    this.bestWeights = undefined;
    this.monitor.reset();
  }

  onEpochEnd(epoch: number, logs: Logs): void {
    const model = this.model;
    const value = this.monitor.read(logs, 'earlyStopping');
    if (!model || value === undefined) return;
    if (this.monitor.improves(value)) {
      this.wait = 0;
      if (this.restoreBestWeights) this.bestWeights = model.snapshotWeights();
      return;
    }
    this.wait += 1;
    if (this.wait >= this.patience) {
      this.stoppedEpoch = epoch;
      model.stopTraining = true;
      if (this.restoreBestWeights && this.bestWeights) model.restoreWeights(this.bestWeights);
    }
  }
}

export interface ReduceLROnPlateauArgs {
  monitor?: string;
  factor?: number;
  patience?: number;
  mode?: Mode;
  minDelta?: number;
  cooldown?: number;
  minLr?: number;
}

export class ReduceLROnPlateau implements Callback {
  private model: TrainingModel | undefined;
  private readonly monitor: Monitor;
  private readonly factor: number;
  private readonly patience: number;
  private readonly cooldown: number;
  private readonly minLr: number;
  private wait = 0;
  private cooldownLeft = 0;

  constructor(args: ReduceLROnPlateauArgs = {}) {
    this.factor = args.factor ?? 0.1;
    if (!(this.factor > 0 && this.factor < 1))
      throw new Error(`reduceLROnPlateau: \`factor\` must be in (0, 1), got ${this.factor}`);
    this.monitor = new Monitor(args.monitor ?? 'val_loss', args.mode ?? 'auto', args.minDelta ?? 1e-4);
    this.patience = args.patience ?? 10;
    this.cooldown = args.cooldown ?? 0;
    this.minLr = args.minLr ?? 0;
  }

  setModel(model: TrainingModel): void {
    this.model = model;
  }

  onTrainBegin(): void {
    this.wait = 0;
    this.cooldownLeft = 0;
    this.monitor.reset();
  }

  onEpochEnd(_epoch: number, logs: Logs): void {
    const model = this.model;
    const value = this.monitor.read(logs, 'reduceLROnPlateau');
    if (!model || value === undefined) return;
    logs.lr = model.optimizer.currentLearningRate;
    if (this.cooldownLeft > 0) this.cooldownLeft -= 1;
    if (this.monitor.improves(value)) {
      this.wait = 0;
      return;
    }
    if (this.cooldownLeft > 0) return;
    this.wait += 1;
    if (this.wait >= this.patience) {
      const current = model.optimizer.currentLearningRate;
      if (current > this.minLr) model.optimizer.setLearningRate(Math.max(current * this.factor, this.minLr));
      this.cooldownLeft = this.cooldown;
      this.wait = 0;
    }
  }
}

export interface ModelCheckpointArgs {
  /**
   * Where to save, as `model.save` takes it (a directory in Node, an
   * `indexeddb://` or `localstorage://` key in a browser); `{epoch}` in it
   * becomes the epoch's number, from 1, so that each epoch keeps its own.
   */
  path: string;
  /** Default `val_loss`. */
  monitor?: string;
  mode?: Mode;
  /** Save only when the monitored value improves on the best so far; default false (every epoch). */
  saveBestOnly?: boolean;
}

/**
 * Keras' `ModelCheckpoint`: saves the model (topology and weights) at the
 * end of an epoch, every epoch or only when `monitor` improves. (`fit`'s
 * `checkpoint` instead keeps what resuming needs: optimizer state and
 * shuffling too.)
 */
export class ModelCheckpoint implements Callback {
  private model: TrainingModel | undefined;
  private readonly monitor: Monitor;
  private readonly path: string;
  private readonly saveBestOnly: boolean;
  /** The epochs saved in the last run, from 0. */
  readonly savedEpochs: number[] = [];

  constructor(args: ModelCheckpointArgs) {
    if (typeof args?.path !== 'string' || args.path === '')
      throw new Error('modelCheckpoint: `path` must name where to save');
    this.path = args.path;
    this.monitor = new Monitor(args.monitor ?? 'val_loss', args.mode ?? 'auto', 0);
    this.saveBestOnly = args.saveBestOnly ?? false;
  }

  setModel(model: TrainingModel): void {
    this.model = model;
  }

  onTrainBegin(): void {
    this.monitor.reset();
    this.savedEpochs.length = 0;
  }

  async onEpochEnd(epoch: number, logs: Logs): Promise<void> {
    const model = this.model;
    if (!model) return;
    if (this.saveBestOnly) {
      const value = this.monitor.read(logs, 'modelCheckpoint');
      if (value === undefined || !this.monitor.improves(value)) return;
    }
    await model.save(this.path.replaceAll('{epoch}', String(epoch + 1)));
    this.savedEpochs.push(epoch);
  }
}

export const earlyStopping = (args?: EarlyStoppingArgs): EarlyStopping => new EarlyStopping(args);
export const modelCheckpoint = (args: ModelCheckpointArgs): ModelCheckpoint => new ModelCheckpoint(args);
export const reduceLROnPlateau = (args?: ReduceLROnPlateauArgs): ReduceLROnPlateau =>
  new ReduceLROnPlateau(args);
