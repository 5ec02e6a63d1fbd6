/**
 * Data-parallel training over kernel workers. Each worker holds a replica of
 * the model that borrows the model's weights in the shared memory; a batch is
 * split into one share per worker, each worker writes its share's gradient
 * into its replica's buffers, and this thread reduces them in worker order
 * (deterministic) and takes one optimizer step. Only offsets and dimensions
 * cross between threads. Prediction splits batches the same way, except
 * batches of fewer rows than workers, whose GRU layers are split by units.
 */
import { layerToJson } from '../io/topology.js';
import type { Ptr } from '../kernel/types.js';
import { Bidirectional } from '../layers/bidirectional.js';
import { Gru } from '../layers/gru.js';
import type { Activation } from '../layers/layer.js';
import { Random } from '../random.js';
import { sizeOf, type Tensor } from '../tensor.js';
import type { ReplicaHandle, ReplicaSpec } from '../worker/protocol.js';
import { KernelWorkers } from '../worker/workers.js';
import type { BatchSums } from './batch.js';
import { gatherRows, stepsOf } from './data.js';
import type { Sequential } from './sequential.js';

/**
 * A predict batch whose forward takes fewer FLOPs than this computes on the
 * calling thread: handing it to workers costs a message each way and a
 * wake-up (0.2–0.5 ms measured here), about what 2·10⁷ FLOP take on one
 * core, so sending it could only make it slower. Measured with 2 workers:
 * one sequence of GRU(128), T = 50 (5.6 MFLOP), 0.42 ms here against 0.9
 * ms split across the workers; of GRU(256), T = 100 (44 MFLOP), about even;
 * of GRU(512) (177 MFLOP), 7.9–8.3 ms here against 6.8–7.3 ms on the workers.
 */
const PREDICT_HERE_BELOW_FLOP = 2e7;

export class DataParallel {
  /** The batch running on the workers: one at a time, as they share the model's buffers. */
  private running: Promise<unknown> = Promise.resolve();
  /** @internal Predict batches under this many FLOPs compute on the calling thread (tests set 0). */
  predictHereBelowFlop = PREDICT_HERE_BELOW_FLOP;

  private constructor(
    private readonly model: Sequential,
    readonly workers: KernelWorkers,
    private readonly replicas: ReplicaHandle[],
  ) {}

  static async start(model: Sequential, count: number): Promise<DataParallel> {
    const workers = await KernelWorkers.start(model.kernel, count);
    try {
      const spec = { ...replicaSpec(model), objective: model.objective };
      const replicas = await Promise.all(
        Array.from({ length: count }, (_, w) => workers.createReplica(w, spec)),
      );
      return new DataParallel(model, workers, replicas);
    } catch (error) {
      await workers.dispose();
      throw error;
    }
  }

  /** Whether a batch is running or waiting on the workers (they read the model's tensors). */
  get busy(): boolean {
    return this.workers.busy;
  }

  /** Set once a worker died; the model then starts new workers. */
  get failure(): Error | undefined {
    return this.workers.failure;
  }

  /**
   * The batch of rows `order[start .. start + batch]`: forward, loss and
   * metrics on the workers, and with `train` their gradients reduced here
   * into the model's and one optimizer update. Weights change only when
   * every share succeeded.
   */
  runBatch(
    x: Tensor,
    y: Tensor,
    order: Uint32Array,
    start: number,
    batch: number,
    train: boolean,
    sampleWeight?: Tensor,
  ): Promise<BatchSums> {
    return this.oneAtATime(() => this.runShares({ x, y, order, start, batch, train, sampleWeight }));
  }

  private async runShares(b: {
    x: Tensor;
    y: Tensor;
    order: Uint32Array;
    start: number;
    batch: number;
    train: boolean;
    sampleWeight?: Tensor | undefined;
  }): Promise<BatchSums> {
    const { x, y, order, start, batch, train, sampleWeight } = b;
    const model = this.model;
    const shares = splitRows(batch, this.workers.size);
    const steps = stepsOf(x);
    const positions = train ? forkRandomPositions(model, shares.length) : [];
    const calls = shares.map((share, w) => {
      const [bx, by] = model.gatherBatch(x, y, order, start + share.offset, share.rows, `/${w}`);
      const weights =
        sampleWeight &&
        model.gatherWeights(sampleWeight, order, start + share.offset, share.rows, steps, `/${w}`);
      const replica = this.replicas[w] as ReplicaHandle;
      return this.workers.call(w, 'training step', (api) =>
        api.runShare(replica.id, {
          x: bx,
          y: by,
          rows: share.rows,
          steps,
          sampleWeights: weights,
          train,
          randomPositions: positions[w] ?? [],
        }),
      );
    });
    const results = await allSettledOrThrow(calls);

    const counted = results.reduce((sum, r) => sum + r.metricWeight, 0);
    const coefficients = results.map((r) => (counted > 0 ? r.metricWeight / counted : 0));
    if (train) {
      const k = model.kernel;
      const weights = model.layers.flatMap((l) => l.weights());
      k.weightedSum(
        weights.map((w) => w.grad),
        results.map((_, w) => (this.replicas[w] as ReplicaHandle).grads),
        coefficients,
      );
      model.applyGradients();
    }
    const meanLoss = results.reduce(
      (sum, r, w) => sum + (coefficients[w] as number) * (r.loss / r.samples),
      0,
    );
    return {
      samples: batch,
      loss: meanLoss * batch,
      metricWeight: counted,
      metrics: results.reduce<number[]>((sums, r) => r.metrics.map((m, i) => (sums[i] ?? 0) + m), []),
    };
  }

  /**
   * Predicts `rows` of `x` into `out` from output sample `at` on: split by
   * rows across the workers, or, for fewer rows than workers, with each GRU
   * layer's units split across them; or, when that is too little work to
   * send, on this thread (still in turn with the workers' batches, whose
   * layer buffers it shares).
   */
  predictBatch(x: Tensor, rows: Uint32Array, out: Ptr, at: number): Promise<void> {
    return this.oneAtATime(() => {
      if (forwardFlopEstimate(this.model, rows.length, stepsOf(x)) < this.predictHereBelowFlop) {
        return this.predictLayers(x, rows, out, at, false);
      }
      return this.splitsByUnits(rows.length)
        ? this.predictLayers(x, rows, out, at, true)
        : this.predictByRows(x, rows, out, at);
    });
  }

  /**
   * Runs `batch` after the batches already running or waiting: concurrent
   * calls (two `predict`s, a `predict` during `fit`) take turns a batch at
   * a time instead of overwriting each other's buffers.
   */
  private oneAtATime<T>(batch: () => Promise<T>): Promise<T> {
    const result = this.running.then(batch);
    this.running = result.catch(() => {});
    return result;
  }

  /** Forward of `rows` of `x`, split by rows across the workers. */
  private async predictByRows(x: Tensor, rows: Uint32Array, out: Ptr, at: number): Promise<void> {
    const model = this.model;
    const k = model.kernel;
    const steps = stepsOf(x);
    const perSample = sizeOf(model.outputShapeFor(steps));
    const inputWidth = x.size / (x.shape[0] as number);
    const shares = splitRows(rows.length, this.workers.size).map((share, w) => {
      const input = model.scratch.get(`x/${w}`, share.rows * inputWidth);
      gatherRows(k, x, rows.subarray(share.offset, share.offset + share.rows), input);
      return { ...share, input, output: model.scratch.get(`predicted/${w}`, share.rows * perSample) };
    });
    await allSettledOrThrow(
      shares.map((share, w) =>
        this.workers.call(w, 'predict', (api) =>
          api.predictShare((this.replicas[w] as ReplicaHandle).id, {
            x: share.input,
            rows: share.rows,
            steps,
            out: share.output,
          }),
        ),
      ),
    );
    const target = k.view(out);
    for (const share of shares) target.set(k.view(share.output), (at + share.offset) * perSample);
  }

  /**
   * Whether `batch` rows predict with the units split: when there are fewer
   * rows than workers, a split by rows would leave some idle (one
   * sequence's steps are matrix–vector products bound by reading U; split
   * by units, each worker reads its share of U). Measured with 2 workers,
   * GRU(256), T = 100: one sequence's kernel time 1.4–2× shorter than on
   * one worker, but two sequences 1.5× slower split by units than by rows
   * (one each). Only models
   * whose recurrent layers are all plain GRUs qualify: other layers run on
   * this thread, and a Bidirectional one would compute there.
   */
  private splitsByUnits(batch: number): boolean {
    const layers = this.model.layers;
    return (
      batch < this.workers.size &&
      layers.some((l) => l instanceof Gru) &&
      !layers.some((l) => l instanceof Bidirectional)
    );
  }

  /**
   * Forward of `rows` of `x` on this thread, except, with `splitGrus`, each
   * GRU layer's, whose units are split across the workers.
   */
  private async predictLayers(
    x: Tensor,
    rows: Uint32Array,
    out: Ptr,
    at: number,
    splitGrus: boolean,
  ): Promise<void> {
    const model = this.model;
    const k = model.kernel;
    const input = model.scratch.get('x/here', rows.length * (x.size / (x.shape[0] as number)));
    gatherRows(k, x, rows, input);
    const steps = stepsOf(x);
    let activation: Activation = { ptr: input, shape: [rows.length, ...model.inputShapeFor(steps)] };
    for (const layer of model.layers) {
      activation =
        splitGrus && layer instanceof Gru
          ? await layer.forwardInParts(activation, Math.min(this.workers.size, layer.units), (call) =>
              this.workers.call(call.part.index, 'predict', (api) => api.gruForwardPart(call)),
            )
          : layer.forward(activation, false);
    }
    const perSample = sizeOf(model.outputShapeFor(steps));
    const predicted = k.view(activation.ptr).subarray(0, rows.length * perSample);
    k.view(out).set(predicted, at * perSample);
  }

  async dispose(): Promise<void> {
    await this.workers.dispose();
  }
}

/**
 * The FLOPs of a forward over `rows` samples, counting every weight in one
 * multiply-add per sample and step: exact for the recurrent layers' matrix
 * products, an over-estimate for layers after the last that returns
 * sequences (they use their weights once per sample).
 */
function forwardFlopEstimate(model: Sequential, rows: number, steps: number): number {
  return 2 * rows * (model.inputShape.length > 1 ? steps : 1) * model.countParams();
}

/**
 * Waits for every call, even after a failure, so no worker is still writing
 * when the caller moves on; then throws the first failure, if any.
 */
async function allSettledOrThrow<T>(calls: Promise<T>[]): Promise<T[]> {
  const settled = await Promise.allSettled(calls);
  const rejected = settled.find((s) => s.status === 'rejected');
  if (rejected) throw rejected.reason;
  return settled.map((s) => (s as PromiseFulfilledResult<T>).value);
}

/** What a worker needs to build a replica of `model` over its weights. */
export function replicaSpec(model: Sequential): ReplicaSpec {
  return {
    layers: model.layers.map((layer, i) =>
      i === 0 ? layerToJson(layer, model.inputShape, model.batchSize) : layerToJson(layer),
    ),
    weights: model.layers.flatMap((l) => l.weights()).map((w) => w.ptr),
  };
}

/** Rows of a batch per worker, as even as possible; workers left without rows get no share. */
export function splitRows(batch: number, workers: number): { offset: number; rows: number }[] {
  const shares: { offset: number; rows: number }[] = [];
  let offset = 0;
  for (let w = 0; w < workers && offset < batch; w++) {
    const rows = Math.ceil((batch - offset) / (workers - w));
    shares.push({ offset, rows });
    offset += rows;
  }
  return shares;
}

/**
 * Per share, per layer: generator positions for this step's dropout masks,
 * drawn from the model's own generators, which then advance one step (a
 * checkpoint of the model keeps them, so a resumed run repeats the masks).
 */
function forkRandomPositions(model: Sequential, shares: number): number[][][] {
  const forks: number[][][] = Array.from({ length: shares }, () => []);
  for (const layer of model.layers) {
    const current = layer.randomPositions();
    forks.forEach((fork, w) => {
      fork.push(current.map((p) => new Random((p ^ Math.imul(w + 1, 0x2545f491)) >>> 0).nextUint32()));
    });
    if (current.length > 0) layer.restoreRandomPositions(current.map((p) => new Random(p).nextUint32()));
  }
  return forks;
}
