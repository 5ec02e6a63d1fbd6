/**
 * Training hosted by one kernel worker with a kernel of its own: where memory
 * cannot be shared (a page that is not cross-origin isolated), `fit` still
 * runs off the calling thread. Each `fit` copies the model, its optimizer
 * state and the data to the worker once; the worker runs the whole loop and
 * reports every callback hook through a comlink proxy. The callbacks run
 * here, on this model, which first takes the worker's state (at every epoch
 * end, and at every batch end when a callback watches batches); what they
 * change (weights, learning rate, stopTraining, the logs) goes back before
 * the worker continues. So EarlyStopping, ReduceLROnPlateau and a user's
 * callbacks behave as on this thread, and the result is bit-identical.
 */
import { proxy, transfer } from 'comlink';
import { modelToArtifacts } from '../io/artifacts.js';
import type { Kernel } from '../kernel/kernel.js';
import { optimizerFromConfig } from '../optimizers/index.js';
import type { Tensor } from '../tensor.js';
import type {
  HostedDirectives,
  HostedEvent,
  HostedFit,
  HostedFitEvents,
  HostedModel,
  Values,
} from '../worker/protocol.js';
import { KernelWorkers } from '../worker/workers.js';
import type { Callback } from './callbacks.js';
import type { Sequential } from './sequential.js';
import type { FitArgs, History } from './training.js';
import { applyTrainingState, captureTrainingState } from './training-state.js';

/** What `fit` decided before handing the loop over. */
export interface FitPlan {
  callbacks: readonly Callback[];
  batchesPerEpoch: number;
}

export class HostedTraining {
  private constructor(readonly workers: KernelWorkers) {}

  /** A worker with a kernel of its own, the same build as `kernel` (so the result is bit-identical). */
  static async start(kernel: Kernel): Promise<HostedTraining> {
    return new HostedTraining(await KernelWorkers.start(kernel, 1, 'copied'));
  }

  /** Set once the worker died; the model then starts a new one. */
  get failure(): Error | undefined {
    return this.workers.failure;
  }

  async fit(model: Sequential, x: Tensor, y: Tensor, args: FitArgs, plan: FitPlan): Promise<History> {
    args.signal?.throwIfAborted();
    const spec = hostedModel(model, args, plan.batchesPerEpoch);
    const fit = hostedFit(x, y, args, plan);
    const events = new CallerEvents(model, plan.callbacks, spec.state.weights, args.signal);
    const abort = () => {
      this.workers.call(0, 'abort', (api) => api.abortHosted()).catch(() => {});
    };
    args.signal?.addEventListener('abort', abort);
    try {
      const buffers = [
        fit.x,
        fit.y,
        ...(fit.validationData ?? []),
        ...(fit.sampleWeight ? [fit.sampleWeight] : []),
      ].map((v) => v.values.buffer as ArrayBuffer);
      const result = await this.workers.call(0, 'fit in a worker', (api) =>
        api.fitHosted(spec, transfer(fit, buffers), proxy(events)),
      );
      applyTrainingState(model, result.state);
      if (events.failure) throw events.failure;
      if (result.error !== undefined) {
        if (args.signal?.aborted) throw args.signal.reason;
        throw new Error(result.error);
      }
      return result.history as History;
    } finally {
      args.signal?.removeEventListener('abort', abort);
    }
  }

  dispose(): Promise<void> {
    return this.workers.dispose();
  }
}

/** The model as the worker rebuilds it: topology, weights, optimizer and training state. */
function hostedModel(model: Sequential, args: FitArgs, batchesPerEpoch: number): HostedModel {
  const optimizer = model.optimizer;
  const config = optimizer.getConfig();
  const probe = optimizerFromConfig(optimizer.className, config, 1);
  if (probe.constructor !== optimizer.constructor) {
    throw new Error(
      `fit: training in a worker copies the optimizer, and a ${optimizer.constructor.name} cannot be copied (use gru-wasm's own optimizers)`,
    );
  }
  const { json, weightData } = modelToArtifacts(model);
  let scheduled: HostedModel['optimizer']['scheduled'];
  if (optimizer.fixedLearningRate === undefined) {
    // Steps this fit can take; from 0 when a checkpoint may move the count.
    const firstStep = args.checkpoint?.resume ? 0 : optimizer.iterations;
    const epochs = (args.epochs ?? 1) - (args.initialEpoch ?? 0);
    const steps = optimizer.iterations - firstStep + Math.max(epochs, 0) * batchesPerEpoch + 1;
    scheduled = {
      firstStep,
      rates: Float64Array.from({ length: steps }, (_, i) => optimizer.learningRateAt(firstStep + i)),
    };
  }
  const { loss, metrics } = model.objective;
  return {
    artifacts: { modelJson: json, weightData },
    loss,
    metrics,
    optimizer: { className: optimizer.className, config, scheduled },
    state: captureTrainingState(model),
  };
}

function valuesOf(t: Tensor): Values {
  return { values: t.dataSync(), shape: [...t.shape] };
}

function hostedFit(x: Tensor, y: Tensor, args: FitArgs, plan: FitPlan): HostedFit {
  return {
    x: valuesOf(x),
    y: valuesOf(y),
    validationData: args.validationData && [
      valuesOf(args.validationData[0]),
      valuesOf(args.validationData[1]),
    ],
    sampleWeight: args.sampleWeight && valuesOf(args.sampleWeight),
    epochs: args.epochs ?? 1,
    batchSize: args.batchSize ?? 32,
    shuffle: args.shuffle ?? true,
    validationSplit: args.validationData ? undefined : args.validationSplit,
    initialEpoch: args.initialEpoch ?? 0,
    // Drawn here when not given, so the worker's shuffling is seeded either way.
    seed: args.seed ?? (Math.random() * 2 ** 32) >>> 0,
    checkpoint: args.checkpoint && { ...args.checkpoint },
    batchHooks: plan.callbacks.some((cb) => cb.onBatchBegin || cb.onBatchEnd),
  };
}

/** The caller's end of the hooks: runs the callbacks on the model, returns what they changed. */
class CallerEvents implements HostedFitEvents {
  /** A callback's own error, thrown by `fit` as it was. */
  failure: unknown;

  constructor(
    private readonly model: Sequential,
    private readonly callbacks: readonly Callback[],
    /** The weights the worker holds, as far as this side knows. */
    private synced: Float32Array[],
    private readonly signal: AbortSignal | undefined,
  ) {}

  async notify(event: HostedEvent): Promise<HostedDirectives> {
    const model = this.model;
    if (event.state) {
      applyTrainingState(model, event.state);
      this.synced = event.state.weights;
    }
    const rate = model.optimizer.fixedLearningRate;
    try {
      for (const cb of this.callbacks) await runHook(cb, event);
    } catch (error) {
      this.failure = error;
      throw error;
    }
    const directives: HostedDirectives = {
      logs: event.logs,
      stopTraining: model.stopTraining,
      aborted: this.signal?.aborted ?? false,
    };
    const newRate = model.optimizer.fixedLearningRate;
    if (newRate !== undefined && newRate !== rate) directives.learningRate = newRate;
    const weights = model.snapshotWeights();
    if (weights.some((w, i) => !sameValues(w, this.synced[i]))) {
      directives.weights = weights;
      this.synced = weights.map((w) => w.slice());
    }
    return directives.weights
      ? transfer(
          directives,
          directives.weights.map((w) => w.buffer as ArrayBuffer),
        )
      : directives;
  }
}

function runHook(cb: Callback, event: HostedEvent): void | Promise<void> {
  const { index = 0, logs } = event;
  switch (event.hook) {
    case 'onTrainBegin':
      return cb.onTrainBegin?.(logs);
    case 'onTrainEnd':
      return cb.onTrainEnd?.(logs);
    case 'onEpochBegin':
      return cb.onEpochBegin?.(index, logs);
    case 'onEpochEnd':
      return cb.onEpochEnd?.(index, logs);
    case 'onBatchBegin':
      return cb.onBatchBegin?.(index, logs);
    case 'onBatchEnd':
      return cb.onBatchEnd?.(index, logs);
  }
}

function sameValues(a: Float32Array, b: Float32Array | undefined): boolean {
  if (!b || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return false;
  return true;
}
