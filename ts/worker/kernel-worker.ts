/**
 * A kernel worker: the threaded kernel instantiated over its creator's
 * shared memory, running replicas of the creator's models on shares of a
 * batch; or, where memory cannot be shared, a kernel of its own holding
 * copies of models, with values passed in messages. Started by
 * `KernelWorkers` (Web Worker or Node worker_threads) and driven through
 * comlink with the calls of `KernelWorkerApi`.
 */
import { expose, type Remote, releaseProxy, transfer } from 'comlink';
import { ready } from '../backend.js';
import { modelFromArtifacts } from '../io/artifacts.js';
import { layerFromJson, Path } from '../io/topology.js';
import { Kernel } from '../kernel/kernel.js';
import { isNode } from '../kernel/load.js';
import { BorrowedWeights } from '../layers/layer.js';
import { Sequential } from '../model/sequential.js';
import { sizeOf } from '../tensor.js';
import { runHostedFit } from './hosted-fit.js';
import {
  type ExitingMessage,
  type HostedFitEvents,
  KERNEL_TRAP,
  type KernelWorkerApi,
  type PredictShare,
  type ReplicaHandle,
  type ReplicaSpec,
  type Share,
  WORKER_READY,
} from './protocol.js';

let attached: Kernel | undefined;
/** Whether `attached` runs over the creator's memory (this thread then owns a stack in it). */
let sharesMemory = false;
/** Replicas over the creator's weights, or models of this worker's own kernel. */
const replicas = new Map<number, Sequential>();
let nextReplica = 1;
/** The running hosted fit's abort switch. */
let hosting: AbortController | undefined;

function kernel(): Kernel {
  if (!attached) throw new Error('kernel worker: not attached to a kernel yet');
  return attached;
}

function replica(id: number): Sequential {
  const model = replicas.get(id);
  if (!model) throw new Error(`kernel worker: no replica ${id} (disposed?)`);
  return model;
}

function buildReplica(spec: ReplicaSpec): Sequential {
  const model = new Sequential(kernel());
  const borrowed = new BorrowedWeights(spec.weights);
  const root = new Path('replica', 'layers');
  try {
    spec.layers.forEach((json, i) => {
      model.addLayer(layerFromJson(json, root.child(i)), borrowed);
    });
    borrowed.assertAllTaken();
    if (spec.objective) model.compileObjective(spec.objective);
  } catch (error) {
    model.dispose();
    throw error;
  }
  return model;
}

/** How this worker posts to its creator and exits, set for Node or the browser below. */
let postToCreator: (message: unknown) => void = () => {};
let exitWorker: () => void = () => {};

/**
 * Runs a call into the kernel (or a promise of one). A trap (a Rust panic or
 * abort, e.g. memory exhausted inside the kernel) unwinds nothing: this
 * thread's kernel state (its workspace, a half-written buffer) is unknown
 * afterwards, so the call fails with the trap's message and the worker
 * exits, to be replaced.
 */
function guard<T>(call: () => T): T {
  try {
    const result = call();
    if (result instanceof Promise)
      return result.catch((error: unknown) => Promise.reject(leaveOnTrap(error))) as T;
    return result;
  } catch (error) {
    throw leaveOnTrap(error);
  }
}

/** `error`, unless it is a trap: then this worker leaves, and the call fails with a `KERNEL_TRAP` error. */
function leaveOnTrap(error: unknown): unknown {
  if (!(error instanceof WebAssembly.RuntimeError)) return error;
  // After comlink has posted the failed call's reply.
  setTimeout(() => {
    const exiting: ExitingMessage = { gruWasmWorkerExiting: `the kernel trapped (${error.message})` };
    postToCreator(exiting);
    exitWorker();
  }, 0);
  const trapped = new Error(`the kernel trapped (${error.message}); this worker exits and is replaced`);
  trapped.name = KERNEL_TRAP;
  return trapped;
}

/** Refuses a call whose rows or offsets are not what the protocol says (a bug on the calling side). */
function checkCall(op: string, values: Record<string, unknown>): void {
  for (const [name, value] of Object.entries(values)) {
    if (value === undefined && name === 'sampleWeights') continue;
    const count = name === 'rows' || name === 'steps';
    if (typeof value !== 'number' || !Number.isInteger(value) || value < (count ? 1 : 0)) {
      throw new Error(
        `${op}: \`${name}\` must be ${count ? 'a positive integer' : 'a tensor offset'}, got ${String(value)}`,
      );
    }
  }
}

const api: KernelWorkerApi = {
  async attach(module, memory, relaxed, cancelWord) {
    if (attached) throw new Error('kernel worker: already attached');
    attached = await Kernel.attach(module, memory, relaxed);
    sharesMemory = true;
    attached.watchCancel(cancelWord);
    return attached.threadId;
  },

  async loadKernel(relaxed) {
    if (attached) throw new Error('kernel worker: already has a kernel');
    attached = await ready('auto', { relaxed });
    return attached.flavour;
  },

  createModel(artifacts) {
    return guard(() => {
      kernel();
      const model = modelFromArtifacts(artifacts.modelJson, artifacts.weightData, 'inference pool model');
      const id = nextReplica++;
      replicas.set(id, model);
      return id;
    });
  },

  predictValues(id, values, rows, steps) {
    return guard(() => {
      const model = replica(id);
      checkCall('predictValues', { rows, steps });
      const k = kernel();
      const input = k.upload(values);
      const output = k.alloc(rows * sizeOf(model.outputShapeFor(steps)));
      try {
        model.predictInto(input, { batch: rows, steps }, output);
        const result = k.download(output);
        return transfer(result, [result.buffer]);
      } finally {
        k.free(input);
        k.free(output);
      }
    });
  },

  createReplica(spec): ReplicaHandle {
    return guard(() => {
      const model = buildReplica(spec);
      const id = nextReplica++;
      replicas.set(id, model);
      return { id, grads: model.layers.flatMap((l) => l.weights()).map((w) => w.grad) };
    });
  },

  runShare(id, share: Share) {
    return guard(() => {
      const model = replica(id);
      const { x, y, rows, steps, sampleWeights } = share;
      checkCall('runShare', { x, y, rows, steps, sampleWeights });
      model.layers.forEach((layer, i) => {
        layer.restoreRandomPositions(share.randomPositions[i] ?? []);
      });
      return model.computeBatch(x, y, { batch: rows, steps }, share.train, sampleWeights);
    });
  },

  predictShare(id, share: PredictShare) {
    guard(() => {
      const model = replica(id);
      const { x, rows, steps, out } = share;
      checkCall('predictShare', { x, rows, steps, out });
      model.predictInto(x, { batch: rows, steps }, out);
    });
  },

  gruForwardPart(call) {
    guard(() => {
      const { x, kernel: w, recurrentKernel, exchange, output } = call.buffers;
      checkCall('gruForwardPart', { x, kernel: w, recurrentKernel, exchange, output });
      kernel().gruForwardPart(call.dims, call.config, call.buffers, call.part);
    });
  },

  resetStates(id) {
    guard(() => replica(id).resetStates());
  },

  disposeReplica(id) {
    guard(() => {
      replicas.get(id)?.dispose();
      replicas.delete(id);
    });
  },

  fitHosted(model, fit, events) {
    if (sharesMemory)
      throw new Error('kernel worker: hosted training needs a kernel of its own (loadKernel)');
    if (hosting) throw new Error('kernel worker: a hosted fit is already running');
    const controller = new AbortController();
    hosting = controller;
    return guard(() => runHostedFit(kernel(), model, fit, events, controller)).finally(() => {
      hosting = undefined;
      // `events` arrives as a comlink proxy: release it, which closes its
      // port at both ends (an open port would keep a Node caller alive).
      (events as Remote<HostedFitEvents>)[releaseProxy]();
    });
  },

  abortHosted() {
    hosting?.abort();
  },

  live() {
    return guard(() => kernel().live());
  },

  close() {
    guard(() => {
      for (const model of replicas.values()) model.dispose();
      replicas.clear();
      if (sharesMemory) attached?.destroyThread();
      attached = undefined;
    });
  },
};

if (isNode) {
  const { parentPort } = await import('node:worker_threads');
  const { default: nodeEndpoint } = await import('comlink/dist/esm/node-adapter.mjs');
  if (!parentPort) throw new Error('kernel worker: started outside a worker thread');
  const port = parentPort;
  postToCreator = (message) => port.postMessage(message);
  exitWorker = () => process.exit(1);
  expose(api, nodeEndpoint(port));
  port.postMessage(WORKER_READY);
} else {
  postToCreator = (message) => postMessage(message);
  exitWorker = () => close();
  expose(api);
  postMessage(WORKER_READY);
}
