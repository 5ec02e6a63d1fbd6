/**
 * The worker's side of a hosted `fit` (training off the calling thread where
 * memory cannot be shared): the model is rebuilt in this worker's own kernel
 * with the caller's optimizer and state, trained by the same loop `fit` runs
 * on a thread, and every callback hook is reported to the caller, whose
 * callbacks answer with what they changed.
 */
import { transfer } from 'comlink';
import { modelFromArtifacts } from '../io/artifacts.js';
import type { Kernel } from '../kernel/kernel.js';
import type { Callback, Logs } from '../model/callbacks.js';
import type { Sequential } from '../model/sequential.js';
import { train } from '../model/training.js';
import { applyTrainingState, captureTrainingState, stateBuffers } from '../model/training-state.js';
import { optimizerFromConfig } from '../optimizers/index.js';
import type { Schedule } from '../optimizers/schedules.js';
import { Tensor } from '../tensor.js';
import type {
  HostedEvent,
  HostedFit,
  HostedFitEvents,
  HostedFitResult,
  HostedModel,
  Values,
} from './protocol.js';

export async function runHostedFit(
  kernel: Kernel,
  spec: HostedModel,
  fit: HostedFit,
  events: HostedFitEvents,
  controller: AbortController,
): Promise<HostedFitResult> {
  const model = buildModel(spec);
  const tensors: Tensor[] = [];
  const upload = (values: Values): Tensor => {
    const tensor = new Tensor(values.shape, kernel.upload(values.values), kernel);
    tensors.push(tensor);
    return tensor;
  };
  try {
    const x = upload(fit.x);
    const y = upload(fit.y);
    const validationData =
      fit.validationData &&
      ([upload(fit.validationData[0]), upload(fit.validationData[1])] as [Tensor, Tensor]);
    const sampleWeight = fit.sampleWeight && upload(fit.sampleWeight);
    const bridge = reporter(model, fit.batchHooks, events, controller);
    try {
      const history = await train(model, x, y, {
        epochs: fit.epochs,
        batchSize: fit.batchSize,
        shuffle: fit.shuffle,
        initialEpoch: fit.initialEpoch,
        seed: fit.seed,
        verbose: 0,
        callbacks: bridge,
        signal: controller.signal,
        ...(fit.validationSplit !== undefined ? { validationSplit: fit.validationSplit } : {}),
        ...(validationData ? { validationData } : {}),
        ...(sampleWeight ? { sampleWeight } : {}),
        ...(fit.checkpoint ? { checkpoint: fit.checkpoint } : {}),
      });
      return finish(model, { history });
    } catch (error) {
      if (error instanceof WebAssembly.RuntimeError) throw error;
      return finish(model, { error: error instanceof Error ? error.message : String(error) });
    }
  } finally {
    for (const tensor of tensors) tensor.dispose();
    model.dispose();
  }
}

function buildModel(spec: HostedModel): Sequential {
  const { modelJson, weightData } = spec.artifacts;
  const model = modelFromArtifacts(modelJson, weightData, 'hosted model');
  try {
    const { className, config, scheduled } = spec.optimizer;
    let learningRate: number | Schedule;
    if (scheduled) learningRate = tableSchedule(scheduled.firstStep, scheduled.rates);
    else if (typeof config.learningRate === 'number') learningRate = config.learningRate;
    else throw new Error(`hosted model: the optimizer's learning rate is ${String(config.learningRate)}`);
    const optimizer = optimizerFromConfig(className, config, learningRate);
    model.compile({ optimizer, loss: spec.loss, metrics: spec.metrics });
    applyTrainingState(model, spec.state);
  } catch (error) {
    model.dispose();
    throw error;
  }
  return model;
}

/** The caller's schedule, evaluated there for the steps this fit can take. */
function tableSchedule(firstStep: number, rates: Float64Array): Schedule {
  return (step) => {
    const rate = rates[step - firstStep];
    if (rate === undefined) {
      throw new Error(
        `hosted fit: the schedule was evaluated for steps ${firstStep}–${firstStep + rates.length - 1}, not ${step}`,
      );
    }
    return rate;
  };
}

/** A callback reporting each hook to the caller and applying what the caller's callbacks changed. */
function reporter(
  model: Sequential,
  batchHooks: boolean,
  events: HostedFitEvents,
  controller: AbortController,
): Callback {
  const report = async (
    hook: HostedEvent['hook'],
    index: number | undefined,
    logs: Logs,
    withState: boolean,
  ) => {
    const state = withState ? captureTrainingState(model) : undefined;
    const event: HostedEvent = { hook, index, logs, state };
    const directives = await events.notify(state ? transfer(event, stateBuffers(state)) : event);
    // Callbacks may add to the logs (ReduceLROnPlateau's `lr`), which the history keeps.
    Object.assign(logs, directives.logs);
    if (directives.weights) model.setWeights(directives.weights);
    if (directives.learningRate !== undefined) model.optimizer.setLearningRate(directives.learningRate);
    if (directives.stopTraining) model.stopTraining = true;
    if (directives.aborted) controller.abort();
  };
  return {
    onTrainBegin: (logs) => report('onTrainBegin', undefined, logs, false),
    onEpochBegin: (epoch, logs) => report('onEpochBegin', epoch, logs, false),
    onEpochEnd: (epoch, logs) => report('onEpochEnd', epoch, logs, true),
    onTrainEnd: (logs) => report('onTrainEnd', undefined, logs, true),
    ...(batchHooks
      ? {
          onBatchBegin: (batch: number, logs: Logs) => report('onBatchBegin', batch, logs, false),
          onBatchEnd: (batch: number, logs: Logs) => report('onBatchEnd', batch, logs, true),
        }
      : {}),
  };
}

function finish(model: Sequential, ending: Omit<HostedFitResult, 'state'>): HostedFitResult {
  const state = captureTrainingState(model);
  return transfer({ ...ending, state }, stateBuffers(state));
}
