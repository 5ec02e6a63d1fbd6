/**
 * The one interface between a thread and its kernel workers. Calls carry
 * offsets into the shared kernel memory and dimensions, never tensor data:
 * the worker reads and writes the tensors in place.
 */
import type { LayerJson } from '../io/topology.js';
import type { GruConfig, GruDims, LossName, Ptr } from '../kernel/types.js';
import type { BatchSums } from '../model/batch.js';
import type { Logs } from '../model/callbacks.js';
import type { MetricSpec } from '../model/metrics.js';
import type { History } from '../model/training.js';
import type { TrainingState } from '../model/training-state.js';

/**
 * What a worker posts once it listens: messages sent before that could be
 * lost in browsers. comlink ignores it (it has no call id).
 */
export const WORKER_READY = { gruWasmWorkerReady: true } as const;

export function isReadyMessage(data: unknown): boolean {
  return (
    typeof data === 'object' &&
    data !== null &&
    (data as { gruWasmWorkerReady?: unknown }).gruWasmWorkerReady === true
  );
}

/**
 * What a worker posts just before it exits on its own, after its kernel
 * trapped: browsers tell a worker's creator nothing when it closes.
 */
export interface ExitingMessage {
  gruWasmWorkerExiting: string;
}

/** The `name` of the error a call fails with when the kernel trapped: the worker is leaving. */
export const KERNEL_TRAP = 'KernelTrap';

/** The reason in an `ExitingMessage`, or `undefined` for any other message. */
export function exitingReason(data: unknown): string | undefined {
  if (typeof data !== 'object' || data === null) return undefined;
  const reason = (data as Partial<ExitingMessage>).gruWasmWorkerExiting;
  return typeof reason === 'string' ? reason : undefined;
}

/** A copy of a model's layers that computes over the model's own weights. */
export interface ReplicaSpec {
  /** The layers' saved form, the first with its input shape. */
  layers: LayerJson[];
  /** The model's weights, in build order; the replica borrows them. */
  weights: Ptr[];
  /** The training objective; absent for a replica that only predicts. */
  objective?: { loss: LossName; metrics: MetricSpec[] } | undefined;
}

/** A replica as its creator sees it. */
export interface ReplicaHandle {
  id: number;
  /** The replica's gradient buffers, in weight order. */
  grads: Ptr[];
}

/** One worker's rows of a batch, gathered into buffers of their own. */
export interface Share {
  x: Ptr;
  y: Ptr;
  rows: number;
  /** Time steps of each sample (a model's `null` time axis takes this length). */
  steps: number;
  sampleWeights?: Ptr | undefined;
  /** With `train`, backward writes the replica's gradients. */
  train: boolean;
  /** Each layer's random generator positions for this share (dropout). */
  randomPositions: number[][];
}

/** One worker's rows to predict into `out` (`rows` output samples). */
export interface PredictShare {
  x: Ptr;
  rows: number;
  /** Time steps of each sample. */
  steps: number;
  out: Ptr;
}

/** One worker's part of a GRU forward split by units (`Kernel.gruForwardPart`). */
export interface GruPartCall {
  dims: GruDims;
  config: GruConfig;
  buffers: {
    x: Ptr;
    kernel: Ptr;
    recurrentKernel: Ptr;
    bias?: Ptr | undefined;
    mask?: Ptr | undefined;
    exchange: Ptr;
    output: Ptr;
  };
  part: { index: number; count: number };
}

/** A model for a worker with a kernel of its own: its saved form (`model.json` and weights). */
export interface ModelArtifacts {
  modelJson: unknown;
  weightData: Uint8Array;
}

/** A data set's values and shape, posted to a worker with a kernel of its own. */
export interface Values {
  values: Float32Array;
  shape: number[];
}

/** A model to train in a worker with a kernel of its own, and how the caller compiled it. */
export interface HostedModel {
  artifacts: ModelArtifacts;
  loss: LossName;
  metrics: MetricSpec[];
  optimizer: {
    className: string;
    config: Record<string, unknown>;
    /**
     * A schedule's rates for steps `firstStep …` (the caller's schedule is a
     * function, which cannot be posted); absent for a constant rate.
     */
    scheduled?: { firstStep: number; rates: Float64Array } | undefined;
  };
  state: TrainingState;
}

/** `fit`'s data and options, as a hosting worker takes them. */
export interface HostedFit {
  x: Values;
  y: Values;
  validationData?: [Values, Values] | undefined;
  sampleWeight?: Values | undefined;
  epochs: number;
  batchSize: number;
  shuffle: boolean;
  validationSplit?: number | undefined;
  initialEpoch: number;
  seed: number;
  checkpoint?: { path: string; everyEpochs?: number | undefined; resume?: boolean | undefined } | undefined;
  /** Whether the caller's callbacks have batch hooks (else batches are not reported). */
  batchHooks: boolean;
}

/** A callback hook the hosting worker reached; with `state`, the model's state at that point. */
export interface HostedEvent {
  hook: 'onTrainBegin' | 'onEpochBegin' | 'onBatchBegin' | 'onBatchEnd' | 'onEpochEnd' | 'onTrainEnd';
  /** The epoch or batch (absent for train begin and end). */
  index?: number | undefined;
  logs: Logs;
  state?: TrainingState | undefined;
}

/** What the caller's callbacks asked of the model, returned for every event. */
export interface HostedDirectives {
  /** The event's logs, with what the callbacks added to them. */
  logs: Logs;
  stopTraining: boolean;
  /** The caller's signal fired: stop at the next batch boundary. */
  aborted: boolean;
  /** A rate a callback set (ReduceLROnPlateau). */
  learningRate?: number | undefined;
  /** Weights a callback wrote (EarlyStopping's restoreBestWeights). */
  weights?: Float32Array[] | undefined;
}

/** The caller's side of a hosted fit (a comlink proxy in the worker). */
export interface HostedFitEvents {
  notify(event: HostedEvent): HostedDirectives | Promise<HostedDirectives>;
}

/** How a hosted fit ended; the state is the model's after its last whole batch. */
export interface HostedFitResult {
  history?: History | undefined;
  /** The error that stopped training, by message. */
  error?: string | undefined;
  state: TrainingState;
}

/**
 * What a kernel worker does; comlink derives the caller's async type from it.
 * A worker either attaches to its creator's shared memory (replicas, shares)
 * or loads a kernel of its own (models, values passed in messages).
 */
export interface KernelWorkerApi {
  /**
   * Instantiates the threaded kernel (the relaxed-SIMD build or not, as the
   * caller's) over the caller's memory; returns this worker's thread number
   * there, under which the kernel records what the worker allocates. The
   * worker's long calls stop once the caller raises `cancelWord`.
   */
  attach(
    module: WebAssembly.Module,
    memory: WebAssembly.Memory,
    relaxed: boolean,
    cancelWord: Ptr,
  ): Promise<number>;
  /** Loads a kernel of the worker's own (where memory cannot be shared), relaxed-SIMD or not as the caller's; returns its flavour. */
  loadKernel(relaxed: boolean): Promise<string>;
  /** A model in the worker's own kernel, from its saved form. */
  createModel(artifacts: ModelArtifacts): number;
  /** Predictions for `rows` samples given as values; the result is transferred, not copied. */
  predictValues(model: number, values: Float32Array, rows: number, steps: number): Float32Array;
  createReplica(spec: ReplicaSpec): ReplicaHandle;
  /** Forward, loss and metrics (and backward with `train`) over a share. */
  runShare(replica: number, share: Share): BatchSums;
  predictShare(replica: number, share: PredictShare): void;
  /** Zeros the states a stateful model (or replica) carries between calls. */
  resetStates(model: number): void;
  /** Its part of a GRU forward whose other parts run on other workers at the same time. */
  gruForwardPart(call: GruPartCall): void;
  disposeReplica(replica: number): void;
  /**
   * Trains a copy of a model in this worker's own kernel, reporting each
   * callback hook to `events`; the caller's model takes the returned state.
   */
  fitHosted(model: HostedModel, fit: HostedFit, events: HostedFitEvents): Promise<HostedFitResult>;
  /** Stops the running hosted fit at its next batch boundary. */
  abortHosted(): void;
  /** Bytes and count of live tensors, as the shared kernel sees them. */
  live(): { bytes: number; tensors: number };
  /** Frees the replicas and this thread's stack in the shared memory. */
  close(): void;
}
