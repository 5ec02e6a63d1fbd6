/**
 * Predictions served by a pool of kernel workers, for a web app or a server
 * that must not block its own thread. Concurrent `predict` calls queue in
 * arrival order and each idle worker takes the oldest. A worker that dies
 * fails only the call it was running (its promise rejects with the cause);
 * the pool replaces it and later calls succeed. Without shared memory (a
 * page that is not cross-origin isolated) each worker holds its own kernel
 * and model copy, and inputs and predictions are copied in messages.
 * A stateful model's pool has one worker, whose model carries the states
 * from call to call in arrival order, as the model itself would.
 */
import { type Remote, transfer } from 'comlink';
import { kernel } from '../backend.js';
import { modelFromArtifacts, modelToArtifacts } from '../io/artifacts.js';
import type { Ptr } from '../kernel/types.js';
import { samplesOf, stepsOf } from '../model/data.js';
import { replicaSpec } from '../model/parallel.js';
import type { Sequential } from '../model/sequential.js';
import { type SampleShape, sizeOf, Tensor } from '../tensor.js';
import type { KernelWorkerApi } from './protocol.js';
import { KernelWorkers } from './workers.js';

export interface InferencePoolOptions {
  /** Workers, each serving one call at a time; default 2 (1, the only size, for a stateful model). */
  size?: number;
  /**
   * 'shared': the workers read the model and the inputs in the kernel's
   * shared memory (the 'threads' kernel: Node, crossOriginIsolated pages);
   * 'copied': each worker loads a kernel and a copy of the model of its own,
   * and inputs and predictions travel in messages (any page). Default:
   * 'shared' where the kernel is threaded, else 'copied'.
   */
  memory?: 'shared' | 'copied';
}

interface Server {
  workers: KernelWorkers;
  /** The worker's replica (shared memory) or model (copied). */
  model: number;
  busy: boolean;
}

type Request =
  | {
      kind: 'predict';
      input: Ptr;
      rows: number;
      steps: number;
      output: Ptr;
      resolve(prediction: Tensor): void;
      reject(error: Error): void;
    }
  | { kind: 'resetStates'; resolve(): void; reject(error: Error): void };

export class InferencePool {
  private readonly servers: (Server | undefined)[];
  private readonly queue: Request[] = [];
  private disposed = false;
  /** Workers being started in place of dead ones; `dispose` waits for them. */
  private readonly replacements = new Set<Promise<void>>();
  /** Dead workers being stopped; once stopped, what they held is freed. */
  private readonly stopping = new Set<Promise<void>>();
  /**
   * A stateful model's worker died, and its states with it: predictions
   * are refused until a `resetStates` call starts the states again.
   */
  private statesLost = false;

  private constructor(
    /** The pool's own copy of the model, whose weights the workers read (or copy). */
    private readonly model: Sequential,
    private readonly memory: 'shared' | 'copied',
    servers: Server[],
  ) {
    this.servers = servers;
  }

  /**
   * A pool serving `source`: a model (the pool copies its weights, so the
   * model may go on training or be disposed) or a model URL or path for
   * `loadModel`.
   */
  static async create(
    source: Sequential | string,
    options: InferencePoolOptions = {},
  ): Promise<InferencePool> {
    const stateful = typeof source !== 'string' && source.stateful;
    const size = options.size ?? (stateful ? 1 : 2);
    if (!Number.isInteger(size) || size < 1) {
      throw new Error(`createInferencePool: \`size\` must be a positive integer, got ${size}`);
    }
    const memory = options.memory ?? (kernel().flavour === 'threads' ? 'shared' : 'copied');
    if (memory === 'shared' && kernel().flavour !== 'threads') {
      throw new Error(
        "createInferencePool: memory 'shared' needs the 'threads' kernel (a crossOriginIsolated page); 'copied' works anywhere",
      );
    }
    let model: Sequential;
    if (typeof source === 'string') {
      const { loadModel } = await import('../io/model-io.js');
      model = await loadModel(source);
    } else {
      const { json, weightData } = modelToArtifacts(source);
      model = modelFromArtifacts(json, weightData, 'createInferencePool');
    }
    if (model.stateful && size !== 1) {
      model.dispose();
      throw new Error(
        `createInferencePool: the model has a stateful GRU, whose states carry from call to call in order: its pool has one worker (size 1, got ${size})`,
      );
    }
    const servers: Server[] = [];
    try {
      for (let i = 0; i < size; i++) servers.push(await startServer(model, memory));
    } catch (error) {
      await Promise.all(servers.map((s) => s.workers.dispose()));
      model.dispose();
      throw error;
    }
    return new InferencePool(model, memory, servers);
  }

  get size(): number {
    return this.servers.length;
  }

  /** Calls waiting for a worker. */
  get queued(): number {
    return this.queue.length;
  }

  /** Shape of one input sample the model takes. */
  get inputShape(): SampleShape {
    return this.model.inputShape;
  }

  /**
   * The model's predictions for every sample of `x`, computed by one worker.
   * `x` is copied when the call is made: it may be disposed right after.
   * The caller owns the returned tensor.
   */
  predict(x: Tensor): Promise<Tensor> {
    if (this.disposed) return Promise.reject(new Error('predict: the inference pool was disposed'));
    const k = this.model.kernel;
    let rows: number;
    let input: Ptr | undefined;
    let output: Ptr;
    const steps = stepsOf(x);
    try {
      rows = samplesOf(this.model, x, undefined, 'predict');
      this.model.checkStatefulBatches(rows, rows, 'predict');
      input = k.upload(x.view());
      output = k.alloc(rows * sizeOf(this.model.outputShapeFor(steps)));
    } catch (error) {
      if (input !== undefined) k.free(input);
      return Promise.reject(error);
    }
    return new Promise<Tensor>((resolve, reject) => {
      this.queue.push({ kind: 'predict', input, rows, steps, output, resolve, reject });
      this.serve();
    });
  }

  /**
   * Zeros a stateful model's states, after the calls made before it and
   * before those made after (nothing for a model that is not stateful).
   */
  resetStates(): Promise<void> {
    if (this.disposed) return Promise.reject(new Error('resetStates: the inference pool was disposed'));
    if (!this.model.stateful) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ kind: 'resetStates', resolve, reject });
      this.serve();
    });
  }

  /** Gives queued calls to idle workers, oldest first. */
  private serve(): void {
    this.servers.forEach((server, index) => {
      if (!server || server.busy) return;
      const request = this.queue.shift();
      if (request) this.run(server, index, request);
    });
  }

  private run(server: Server, index: number, request: Request): void {
    if (request.kind === 'resetStates') {
      // A replacement worker's states start at zero: the reset ends the loss.
      this.statesLost = false;
      this.call(
        server,
        index,
        'resetStates',
        (api) => api.resetStates(server.model),
        request.resolve,
        request.reject,
      );
      return;
    }
    const k = this.model.kernel;
    const { input, rows, steps, output } = request;
    const free = () => {
      k.free(input);
      k.free(output);
    };
    if (this.statesLost) {
      free();
      request.reject(
        new Error(
          'predict: the worker carrying the stateful model’s states died, and the states with it: call resetStates() to start them again',
        ),
      );
      this.serve();
      return;
    }
    const shape = [rows, ...this.model.outputShapeFor(steps)];
    this.call(
      server,
      index,
      'predict',
      async (api) => {
        if (this.memory === 'shared') {
          await api.predictShare(server.model, { x: input, rows, steps, out: output });
          return;
        }
        const values = k.download(input);
        const predicted = await api.predictValues(
          server.model,
          transfer(values, [values.buffer]),
          rows,
          steps,
        );
        k.view(output).set(predicted);
      },
      () => {
        k.free(input);
        request.resolve(new Tensor(shape, output, k));
      },
      (error) => {
        // The worker has stopped touching the buffers: it returned an error, or it is dead.
        free();
        request.reject(error);
      },
    );
  }

  /** Runs `body` on `server`'s worker, then the next queued call; a dead worker is replaced. */
  private call(
    server: Server,
    index: number,
    what: string,
    body: (api: Remote<KernelWorkerApi>) => Promise<unknown>,
    resolve: () => void,
    reject: (error: Error) => void,
  ): void {
    server.busy = true;
    server.workers
      .call(0, what, body)
      .then(resolve, (error: Error) => {
        reject(error);
        if (server.workers.failure) {
          if (this.model.stateful) this.statesLost = true;
          this.replace(index, server);
        }
      })
      .finally(() => {
        server.busy = false;
        this.serve();
      });
  }

  private replace(index: number, dead: Server): void {
    if (this.servers[index] !== dead) return;
    this.servers[index] = undefined;
    const stopping = dead.workers.dispose().finally(() => this.stopping.delete(stopping));
    this.stopping.add(stopping);
    if (this.disposed) return;
    const replacement: Promise<void> = startServer(this.model, this.memory).then(
      async (fresh) => {
        this.replacements.delete(replacement);
        if (this.disposed) {
          await fresh.workers.dispose();
          return;
        }
        this.servers[index] = fresh;
        this.serve();
      },
      (error: Error) => {
        this.replacements.delete(replacement);
        // With no worker left to serve them, queued calls would wait forever.
        if (this.replacements.size === 0 && this.servers.every((s) => s === undefined)) {
          this.failQueued(
            new Error(`predict: no worker could be restarted: ${error.message}`, { cause: error }),
          );
        }
      },
    );
    this.replacements.add(replacement);
  }

  private failQueued(error: Error): void {
    const k = this.model.kernel;
    for (const request of this.queue.splice(0)) {
      if (request.kind === 'predict') {
        k.free(request.input);
        k.free(request.output);
      }
      request.reject(error);
    }
  }

  /** @internal Kills worker `index` as a crash would (tests). */
  async killWorker(index: number): Promise<void> {
    await this.servers[index]?.workers.kill(0);
  }

  /** Rejects queued calls, stops the workers and frees the model's copy. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    this.failQueued(new Error('predict: the inference pool was disposed'));
    // A worker still starting in place of a dead one holds allocations in
    // the shared memory until it is stopped: wait for it too.
    await Promise.all([
      ...this.servers.map((s) => s?.workers.dispose()),
      ...this.replacements,
      ...this.stopping,
    ]);
    this.model.dispose();
  }
}

async function startServer(model: Sequential, memory: 'shared' | 'copied'): Promise<Server> {
  const workers = await KernelWorkers.start(model.kernel, 1, memory);
  try {
    if (memory === 'shared') {
      const { id } = await workers.createReplica(0, replicaSpec(model));
      return { workers, model: id, busy: false };
    }
    const { json, weightData } = modelToArtifacts(model);
    const id = await workers.call(0, 'createModel', (api) =>
      api.createModel({ modelJson: json, weightData: transfer(weightData, [weightData.buffer]) }),
    );
    return { workers, model: id, busy: false };
  } catch (error) {
    await workers.dispose();
    throw error;
  }
}

/** A pool of `options.size` workers serving predictions of `source` (see `InferencePool.create`). */
export function createInferencePool(
  source: Sequential | string,
  options: InferencePoolOptions = {},
): Promise<InferencePool> {
  return InferencePool.create(source, options);
}
