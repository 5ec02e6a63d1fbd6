/**
 * A linear stack of layers with Keras' `compile`, `fit`, `evaluate`,
 * `predict` and `trainOnBatch`. Every method that touches the kernel is
 * async, so the same API can run the kernel in a worker.
 */
import { kernel as loadedKernel } from '../backend.js';
import type { SaveResult } from '../io/model-io.js';
import type { Kernel } from '../kernel/kernel.js';
import { ScratchBuffers } from '../kernel/scratch.js';
import type { LossName, Ptr } from '../kernel/types.js';
import { applyConstraint } from '../layers/constraints.js';
import {
  type Activation,
  type Layer,
  readWeights,
  type Weight,
  type WeightSource,
  writeWeights,
} from '../layers/layer.js';
import { type Optimizer, optimizerFromName } from '../optimizers/index.js';
import { formatShape, type SampleShape, type Shape, sizeOf, Tensor, withSteps } from '../tensor.js';
import { OnDemand } from '../worker/on-demand.js';
import { addBatch, averages, type BatchRows, type BatchSums, type Totals } from './batch.js';
import type { Callback, Logs, TrainingModel } from './callbacks.js';
import { gatherRows, samplesOf, stepsOf } from './data.js';
import { type Dataset, evaluateDatasetLogs, type FitDatasetArgs, fitDataset } from './dataset.js';
import { HostedTraining } from './hosted.js';
import { LOSS_ALIASES, LOSSES, type LossAlias, lossNamed } from './losses.js';
import { type Metric, type MetricSpec, resolveMetric } from './metrics.js';
import { DataParallel } from './parallel.js';
import { summaryTable } from './summary.js';
import { checkSampleWeight, type FitArgs, type History, train } from './training.js';

export interface CompileArgs {
  optimizer: Optimizer | string;
  loss: LossName | LossAlias;
  /** Names (`'accuracy'`, `'auc'`, …) or metrics with arguments (`gw.metrics.*`). */
  metrics?: MetricSpec[];
  /**
   * Kernel workers that compute off this thread. With the 'threads' kernel
   * (shared memory: Node, crossOriginIsolated pages), `fit`, `evaluate`,
   * `predict` and `trainOnBatch` split each batch between them (data
   * parallel). Without it, any count means one worker that hosts the whole
   * of `fit` with a copy of the model (callbacks still run on this thread);
   * the other methods compute here. 0, the default, computes on this thread.
   */
  workers?: number;
}

interface Compiled {
  /** Absent on a worker's replica, which only computes gradients. */
  optimizer: Optimizer | undefined;
  loss: LossName;
  metrics: Metric[];
  /** The layers not trainable when the model was compiled: training leaves their weights. */
  frozen: ReadonlySet<Layer>;
}

export class Sequential implements TrainingModel {
  readonly layers: Layer[] = [];
  stopTraining = false;
  private compiled: Compiled | undefined;
  private scratchBuffers: ScratchBuffers | undefined;
  private workerCount = 0;
  private readonly parallel = new OnDemand(() => DataParallel.start(this, this.workerCount));
  private hostsTraining = false;
  private readonly host = new OnDemand(() => HostedTraining.start(this.k));

  constructor(private readonly k: Kernel = loadedKernel()) {}

  /** Appends a layer and builds it for the previous layer's output. */
  add(layer: Layer): void {
    this.addLayer(layer, true);
  }

  /** @internal Appends a layer; its weights zero for loading (`false`), or borrowed. */
  addLayer(layer: Layer, source: WeightSource): void {
    if ((layer as { returnState?: boolean }).returnState) {
      throw new Error(
        `layer ${layer.name} has returnState: its two outputs cannot flow through a Sequential model (use layer.apply)`,
      );
    }
    const previous = this.layers[this.layers.length - 1];
    let inputShape: SampleShape;
    if (previous) {
      inputShape = previous.computeOutputShape(previous.builtInputShape);
      if (layer.inputShape && !sameShape(layer.inputShape, inputShape)) {
        throw new Error(
          `layer ${layer.name} declares inputShape ${formatShape(layer.inputShape)} but follows an output of ${formatShape(inputShape)}`,
        );
      }
    } else {
      if (!layer.inputShape) throw new Error(`the first layer (${layer.name}) needs an \`inputShape\``);
      inputShape = layer.inputShape;
    }
    layer.bindBatchSize(previous ? this.batchSize : layer.batchSize);
    layer.build(this.k, inputShape, source);
    this.layers.push(layer);
    void this.stopWorkers();
  }

  /** Sequences per batch when the first layer fixes it (`batchSize`), as stateful GRUs need. */
  get batchSize(): number | undefined {
    return this.layers[0]?.batchSize;
  }

  /**
   * @internal The `batchSize` of `fit`, `evaluate` and `predict` when the
   * call gives none: a stateful model's own, else Keras' 32.
   */
  get defaultBatchSize(): number {
    return (this.stateful ? this.batchSize : undefined) ?? 32;
  }

  /** Whether a layer carries state from one batch to the next (a stateful GRU). */
  get stateful(): boolean {
    return this.layers.some((layer) => layer.stateful);
  }

  /**
   * @internal Throws unless `samples` split into whole batches of the
   * stateful layers' batch size (checked before any batch runs, so that no
   * state advances on a call that then fails).
   */
  checkStatefulBatches(samples: number, batchSize: number, what: string): void {
    if (!this.stateful) return;
    const fixed = this.batchSize as number;
    if (batchSize !== fixed || samples % fixed !== 0) {
      throw new Error(
        `${what}: the model's stateful GRU carries ${fixed} sequences from batch to batch: batchSize must be ${fixed} (got ${batchSize}) and the number of samples a multiple of it (got ${samples})`,
      );
    }
  }

  /** Zeros the states that stateful layers carry between batches. */
  resetStates(): void {
    for (const layer of this.layers) layer.resetStates();
  }

  /** Shape of one input sample; its time axis `null` when sequences may have any length. */
  get inputShape(): SampleShape {
    return this.firstLayer.builtInputShape;
  }

  /** Shape of one output sample; its time axis `null` when sequences may have any length. */
  get outputShape(): SampleShape {
    const last = this.layers[this.layers.length - 1] ?? this.firstLayer;
    return last.computeOutputShape(last.builtInputShape);
  }

  /** @internal The shape of one input sample in a call on sequences of `steps` steps. */
  inputShapeFor(steps: number): Shape {
    return withSteps(this.inputShape, steps);
  }

  /** @internal The shape of one output sample in a call on sequences of `steps` steps. */
  outputShapeFor(steps: number): Shape {
    return withSteps(this.outputShape, steps);
  }

  private get firstLayer(): Layer {
    const first = this.layers[0];
    if (!first) throw new Error('the model has no layers: add some first');
    return first;
  }

  compile(args: CompileArgs): void {
    const optimizer = typeof args.optimizer === 'string' ? optimizerFromName(args.optimizer) : args.optimizer;
    const workers = args.workers ?? 0;
    if (!Number.isInteger(workers) || workers < 0) {
      throw new Error(`compile: \`workers\` must be a non-negative integer, got ${workers}`);
    }
    if (workers > 0 && this.stateful) {
      throw new Error(
        'compile: a model with a stateful GRU computes on this thread (workers: 0): its states carry from each batch to the next in order',
      );
    }
    // Keras' rule: a layer's `trainable` counts as it was at compile time.
    this.compileObjective(args);
    this.compiled = { ...this.compiledOrThrow, optimizer };
    void this.stopWorkers();
    // Without shared memory a batch cannot be split between workers: one
    // worker with a kernel of its own hosts the whole of `fit` instead.
    const shared = this.k.flavour === 'threads';
    this.workerCount = shared ? workers : 0;
    this.hostsTraining = !shared && workers > 0;
  }

  /**
   * @internal The workers that run this model's batches, started on first
   * use; `undefined` when it computes on this thread.
   */
  async workers(): Promise<DataParallel | undefined> {
    return this.workerCount === 0 ? undefined : this.parallel.get();
  }

  /**
   * @internal The worker that hosts `fit` where memory cannot be shared,
   * started on first use; `undefined` when `fit` runs its loop on this thread.
   */
  async trainingHost(): Promise<HostedTraining | undefined> {
    return this.hostsTraining ? this.host.get() : undefined;
  }

  /** @internal Stops the training host (in the background); the next `fit` starts a new one. */
  stopTrainingHost(): void {
    void this.host.stop();
  }

  /**
   * Stops the workers and the training host (in the background; resolves
   * once they are stopped); the next batch starts new ones.
   */
  private stopWorkers(): Promise<void> {
    return Promise.all([this.parallel.stop(), this.host.stop()]).then(() => {});
  }

  /**
   * @internal One batch of rows `order[start .. start + batch]` (see
   * `runBatch`), on the workers when the model has them. A worker that dies
   * fails the batch, before any weight changes, and is replaced next time.
   */
  async step(
    x: Tensor,
    y: Tensor,
    order: Uint32Array,
    start: number,
    batch: number,
    train: boolean,
    sampleWeight?: Tensor,
  ): Promise<BatchSums> {
    const parallel = await this.workers();
    if (!parallel) {
      const [bx, by] = this.gatherBatch(x, y, order, start, batch);
      const steps = stepsOf(x);
      const weights = sampleWeight && this.gatherWeights(sampleWeight, order, start, batch, steps);
      return this.runBatch(bx, by, { batch, steps }, train, weights);
    }
    try {
      return await parallel.runBatch(x, y, order, start, batch, train, sampleWeight);
    } catch (error) {
      if (parallel.failure) void this.stopWorkers();
      throw error;
    }
  }

  /** @internal Sets the loss and metrics only: a replica that computes gradients. */
  compileObjective(args: Pick<CompileArgs, 'loss' | 'metrics'>): void {
    const loss = lossNamed(args.loss);
    if (loss === undefined) {
      throw new Error(
        `unknown loss '${args.loss}' (expected ${LOSSES.join(', ')}, or ${Object.keys(LOSS_ALIASES).join(', ')})`,
      );
    }
    const metrics = (args.metrics ?? []).map((spec) => resolveMetric(spec, loss));
    const names = metrics.map((m) => m.name);
    const repeated = names.find((name, i) => names.indexOf(name) !== i);
    if (repeated !== undefined || names.includes('loss')) {
      throw new Error(
        `compile: two metrics report as '${repeated ?? 'loss'}': give one a name (gw.metrics.*({ name }))`,
      );
    }
    if (this.layers.length === 0) throw new Error('the model has no layers: add some before compiling');
    this.compiled?.optimizer?.dispose();
    // A replica (built from the model's file, with its `trainable` flags)
    // freezes what the model froze.
    const frozen = new Set(this.layers.filter((layer) => !layer.trainable));
    this.compiled = { optimizer: undefined, loss, metrics, frozen };
  }

  /** The loss and metrics given to `compile`, for a replica. */
  get objective(): { loss: LossName; metrics: MetricSpec[] } {
    const { loss, metrics } = this.compiledOrThrow;
    return { loss, metrics: metrics.map((m) => m.spec) };
  }

  /** @internal Throws unless `compile` has been called. */
  assertCompiled(): void {
    void this.compiledOrThrow;
  }

  private get compiledOrThrow(): Compiled {
    if (!this.compiled)
      throw new Error('the model must be compiled before training or evaluation: call model.compile() first');
    return this.compiled;
  }

  get optimizer(): Optimizer {
    const { optimizer } = this.compiledOrThrow;
    if (!optimizer) throw new Error('the model was compiled without an optimizer: it cannot train');
    return optimizer;
  }

  /**
   * @internal The weights training updates: those of the layers that were
   * trainable when the model was compiled (and of layers added since).
   */
  trainableWeights(): Weight[] {
    const frozen = this.compiled?.frozen;
    return this.layers.filter((layer) => !frozen?.has(layer)).flatMap((layer) => layer.weights());
  }

  /** Keys of the logs `fit` reports (without the `val_` ones). */
  get metricsNames(): string[] {
    return ['loss', ...this.compiledMetrics.map((m) => m.name)];
  }

  /** @internal The metrics `compile` resolved. */
  get compiledMetrics(): readonly Metric[] {
    return this.compiledOrThrow.metrics;
  }

  get kernel(): Kernel {
    return this.k;
  }

  /** @internal Scratch buffers for batches. */
  get scratch(): ScratchBuffers {
    this.scratchBuffers ??= new ScratchBuffers(this.k);
    return this.scratchBuffers;
  }

  private forward(x: Activation, training: boolean): Activation {
    let activation = x;
    for (const layer of this.layers) activation = layer.forward(activation, training);
    return activation;
  }

  /**
   * @internal One batch: forward, loss and metrics, and with `train`,
   * backward and one optimizer update. The loss is the one before the update.
   */
  runBatch(x: Ptr, y: Ptr, rows: BatchRows, train: boolean, sampleWeights?: Ptr): BatchSums {
    if (train) void this.optimizer; // refused before any work when there is none
    const sums = this.computeBatch(x, y, rows, train, sampleWeights);
    if (train) this.applyGradients();
    return sums;
  }

  /**
   * @internal One optimizer update of the trainable weights from their
   * gradients, then each constrained weight's projection (Keras' order).
   */
  applyGradients(): void {
    const weights = this.trainableWeights();
    this.optimizer.apply(
      this.k,
      weights.map((w) => w.ptr),
      weights.map((w) => w.grad),
    );
    for (const w of weights) if (w.constraint) applyConstraint(this.k, w, w.constraint);
  }

  /**
   * @internal Forward, loss and metrics of one batch; with `train`, also
   * backward into the layers' gradients (no update).
   */
  computeBatch(x: Ptr, y: Ptr, rows: BatchRows, train: boolean, sampleWeights?: Ptr): BatchSums {
    const { loss, metrics } = this.compiledOrThrow;
    const k = this.k;
    const { batch, steps } = rows;
    const prediction = this.forward({ ptr: x, shape: [batch, ...this.inputShapeFor(steps)] }, train);
    const width = prediction.shape[prediction.shape.length - 1] as number;
    const samples = sizeOf(prediction.shape) / width;
    const grad = train ? this.scratch.get('dPrediction', sizeOf(prediction.shape)) : undefined;
    const lossWeights = this.lossWeights(samples, prediction.mask, sampleWeights);
    const value = k.loss(
      loss,
      { samples, width },
      { predictions: prediction.ptr, targets: y, sampleWeights: lossWeights, grad },
    );
    // Losses as metrics: weighed by the mask alone, as metrics are.
    const lossSums = metrics.map((m) => {
      if (m.kernelLoss === undefined) return undefined;
      const buffers = { predictions: prediction.ptr, targets: y, sampleWeights: prediction.mask };
      try {
        return samples * k.loss(m.kernelLoss, { samples, width }, buffers);
      } catch (error) {
        throw new Error(`metric ${m.name}: ${(error as Error).message}`, { cause: error });
      }
    });
    // Views are taken after the batch's allocations: growing the memory detaches older ones.
    const maskView = prediction.mask === undefined ? undefined : k.view(prediction.mask);
    const predView = k.view(prediction.ptr);
    const targetView = k.view(y);
    const metricSums = metrics.flatMap((m, i) =>
      m.statistics(predView, targetView, samples, width, maskView, lossSums[i]),
    );
    const metricWeight = maskView ? maskView.reduce((a, b) => a + b, 0) : samples;
    if (train && grad !== undefined) {
      let d: Ptr | undefined = grad;
      for (let i = this.layers.length - 1; i >= 0 && d !== undefined; i--) {
        d = (this.layers[i] as Layer).backward(d, i > 0);
      }
    }
    // Keras 3 adds the trainable weights' penalties to the loss (evaluation's
    // too), and their gradients to the weights' once backward has written those.
    let penalty = 0;
    for (const w of this.trainableWeights()) {
      if (w.regularizer) penalty += k.regularize(w.ptr, train ? w.grad : undefined, w.regularizer);
    }
    return { samples: batch, loss: (value + penalty) * batch, metrics: metricSums, metricWeight };
  }

  /**
   * Per-sample loss weights: the sample weights, times the mask of padded
   * steps scaled by total/valid, so the loss is the mean over real steps
   * (Keras 3's masked reduction).
   */
  private lossWeights(
    samples: number,
    maskPtr: Ptr | undefined,
    sampleWeights: Ptr | undefined,
  ): Ptr | undefined {
    if (maskPtr === undefined) return sampleWeights;
    const out = this.scratch.get('lossWeights', samples);
    const mask = this.k.view(maskPtr);
    const valid = mask.reduce((a, b) => a + b, 0);
    const scale = valid > 0 ? samples / valid : 0;
    const weights = this.k.view(out);
    const given = sampleWeights === undefined ? undefined : this.k.view(sampleWeights);
    for (let i = 0; i < samples; i++)
      weights[i] = (mask[i] as number) * scale * (given ? (given[i] as number) : 1);
    return out;
  }

  /** Trains on one batch; returns its loss before the update. */
  async trainOnBatch(x: Tensor, y: Tensor): Promise<number> {
    const batch = samplesOf(this, x, y, 'trainOnBatch');
    this.checkStatefulBatches(batch, batch, 'trainOnBatch');
    if (this.workerCount === 0)
      return this.runBatch(x.ptr, y.ptr, { batch, steps: stepsOf(x) }, true).loss / batch;
    const order = Uint32Array.from({ length: batch }, (_, i) => i);
    return (await this.step(x, y, order, 0, batch, true)).loss / batch;
  }

  /** Trains for a number of epochs; see `FitArgs`. */
  fit(x: Tensor, y: Tensor, args: FitArgs = {}): Promise<History> {
    return train(this, x, y, args);
  }

  /**
   * Trains on batches that arrive one at a time (see `Dataset`), on this
   * thread or the data-parallel workers; each batch's tensors are disposed
   * once used. See `FitDatasetArgs`.
   */
  fitDataset(dataset: Dataset, args: FitDatasetArgs = {}): Promise<History> {
    return fitDataset(this, dataset, args);
  }

  /**
   * The loss (and metrics) over `x`, `y` in batches: a number without
   * metrics, else `[loss, ...metrics]` as Keras returns them. A
   * `sampleWeight` (`[samples]`, or `[samples, steps]` for a sequence
   * output) weighs the loss as `fit`'s does; metrics stay unweighted.
   */
  async evaluate(
    x: Tensor,
    y: Tensor,
    args: { batchSize?: number; sampleWeight?: Tensor } = {},
  ): Promise<number | number[]> {
    const n = samplesOf(this, x, y, 'evaluate');
    const batchSize = args.batchSize ?? this.defaultBatchSize;
    this.checkStatefulBatches(n, batchSize, 'evaluate');
    if (args.sampleWeight) checkSampleWeight(this, args.sampleWeight, n, stepsOf(x), 'evaluate');
    return this.logValues(await this.evaluateLogs(x, y, batchSize, undefined, args.sampleWeight));
  }

  /**
   * As `evaluate`, over a dataset's batches (all of one pass, or the first
   * `batches`), each disposed once used; a batch's `sampleWeight` weighs
   * its losses.
   */
  async evaluateDataset(dataset: Dataset, args: { batches?: number } = {}): Promise<number | number[]> {
    return this.logValues(await evaluateDatasetLogs(this, dataset, args.batches, 'evaluateDataset'));
  }

  /** The loss, or `[loss, ...metrics]`, from logs. */
  private logValues(logs: Logs): number | number[] {
    const values = this.metricsNames.map((name) => logs[name] as number);
    return values.length === 1 ? (values[0] as number) : values;
  }

  /**
   * @internal Loss and metrics over a data set, as logs. The caller has
   * checked `x` and `y` (`samplesOf`): fit checks its validation data once,
   * not at every epoch.
   */
  async evaluateLogs(
    x: Tensor,
    y: Tensor,
    batchSize: number,
    indices?: Uint32Array,
    sampleWeight?: Tensor,
  ): Promise<Logs> {
    const n = x.shape[0] as number;
    const order = indices ?? Uint32Array.from({ length: n }, (_, i) => i);
    const totals: Totals = { samples: 0, loss: 0, metrics: [] };
    for (let start = 0; start < order.length; start += batchSize) {
      const batch = Math.min(batchSize, order.length - start);
      addBatch(totals, await this.step(x, y, order, start, batch, false, sampleWeight));
    }
    return averages(this.compiledMetrics, totals);
  }

  /**
   * @internal Copies the sample weights of rows `order[start .. start +
   * batch]`, one per loss sample: a per-sequence weight `[N]` is repeated
   * over the steps of a sequence output.
   */
  gatherWeights(
    weights: Tensor,
    order: Uint32Array,
    start: number,
    batch: number,
    steps: number,
    slot = '',
  ): Ptr {
    const rows = order.subarray(start, start + batch);
    const outputShape = this.outputShapeFor(steps);
    const perRow = sizeOf(outputShape) / (outputShape[outputShape.length - 1] as number);
    const out = this.scratch.get(`sampleWeights${slot}`, batch * perRow);
    if (weights.size / (weights.shape[0] as number) === perRow) {
      gatherRows(this.k, weights, rows, out);
    } else {
      const from = this.k.view(weights.ptr);
      const to = this.k.view(out);
      rows.forEach((row, i) => {
        to.fill(from[row] as number, i * perRow, (i + 1) * perRow);
      });
    }
    return out;
  }

  /**
   * @internal Copies rows `order[start .. start + batch]` into the batch
   * buffers (those named by `slot`: one set per worker).
   */
  gatherBatch(x: Tensor, y: Tensor, order: Uint32Array, start: number, batch: number, slot = ''): [Ptr, Ptr] {
    const rows = order.subarray(start, start + batch);
    const bx = this.scratch.get(`x${slot}`, batch * (x.size / (x.shape[0] as number)));
    const by = this.scratch.get(`y${slot}`, batch * (y.size / (y.shape[0] as number)));
    gatherRows(this.k, x, rows, bx);
    gatherRows(this.k, y, rows, by);
    return [bx, by];
  }

  /** Predictions for every sample of `x`, in batches (split across the workers, when the model has them). */
  async predict(x: Tensor, args: { batchSize?: number } = {}): Promise<Tensor> {
    const batchSize = args.batchSize ?? this.defaultBatchSize;
    const n = samplesOf(this, x, undefined, 'predict');
    this.checkStatefulBatches(n, batchSize, 'predict');
    const steps = stepsOf(x);
    const perSample = sizeOf(this.outputShapeFor(steps));
    const out = this.k.alloc(n * perSample);
    let parallel: DataParallel | undefined;
    try {
      parallel = this.compiled ? await this.workers() : undefined;
      const order = Uint32Array.from({ length: n }, (_, i) => i);
      for (let start = 0; start < n; start += batchSize) {
        const batch = Math.min(batchSize, n - start);
        if (parallel) {
          await parallel.predictBatch(x, order.subarray(start, start + batch), out, start);
          continue;
        }
        const bx = this.scratch.get('x', batch * (x.size / n));
        gatherRows(this.k, x, order.subarray(start, start + batch), bx);
        // The forward may grow the memory, which detaches older views: view `out` after it.
        const prediction = this.predictionOf(bx, { batch, steps });
        this.k.view(out).set(prediction, start * perSample);
      }
    } catch (error) {
      this.k.free(out);
      if (parallel?.failure) void this.stopWorkers();
      throw error;
    }
    return new Tensor([n, ...this.outputShapeFor(steps)], out, this.k);
  }

  /** @internal Predicts the samples at `x` into `out`, which holds exactly their outputs. */
  predictInto(x: Ptr, rows: BatchRows, out: Ptr): void {
    const prediction = this.predictionOf(x, rows);
    const target = this.k.view(out);
    if (target.length !== prediction.length) {
      throw new Error(
        `predict: the output buffer holds ${target.length} floats, ${rows.batch} predictions need ${prediction.length}`,
      );
    }
    target.set(prediction);
  }

  /** An inference forward of the samples at `x`: a view of the outputs, valid until the next forward. */
  private predictionOf(x: Ptr, { batch, steps }: BatchRows): Float32Array {
    const prediction = this.forward({ ptr: x, shape: [batch, ...this.inputShapeFor(steps)] }, false);
    return this.k.view(prediction.ptr).subarray(0, batch * sizeOf(this.outputShapeFor(steps)));
  }

  /** Weights in Keras order (per GRU: kernel, recurrent kernel, bias; per dense: kernel, bias), as copies. */
  getWeights(): Tensor[] {
    return readWeights(
      this.k,
      this.layers.flatMap((l) => l.weights()),
    );
  }

  /** Replaces the weights, in `getWeights()` order, from Tensors or Float32Arrays: all checked, then all written. */
  setWeights(values: readonly (Tensor | Float32Array)[]): void {
    writeWeights(
      this.k,
      this.layers.flatMap((l) => l.weights()),
      values,
      'the model',
    );
  }

  /** The layer named `name`, or at position `index` (TensorFlow.js' `getLayer`). */
  getLayer(nameOrIndex: string | number): Layer {
    const layer =
      typeof nameOrIndex === 'number'
        ? this.layers[nameOrIndex]
        : this.layers.find((l) => l.name === nameOrIndex);
    if (!layer) {
      throw new Error(
        `getLayer: no layer ${typeof nameOrIndex === 'number' ? `at index ${nameOrIndex}` : `named '${nameOrIndex}'`} (the model has ${this.layers.map((l) => l.name).join(', ') || 'none'})`,
      );
    }
    return layer;
  }

  snapshotWeights(): Float32Array[] {
    return this.layers.flatMap((l) => l.weights()).map((w) => this.k.download(w.ptr));
  }

  restoreWeights(values: readonly Float32Array[]): void {
    this.setWeights(values);
  }

  countParams(): number {
    return this.layers.reduce((sum, l) => sum + l.countParams(), 0);
  }

  /** A Keras-style table of layers, output shapes and parameter counts; printed and returned. */
  summary(printFn: (line: string) => void = console.log): string {
    const text = summaryTable(this);
    printFn(text);
    return text;
  }

  /**
   * Saves the topology and weights in the TensorFlow.js layers format: into
   * a directory (a path or file:// URL, Node: `model.json` + `weights.bin`),
   * to a server (`http(s)://`, a multipart POST), or in a browser to
   * `indexeddb://name` or `downloads://name`.
   */
  async save(destination: string): Promise<SaveResult> {
    const { saveModel } = await import('../io/model-io.js');
    return saveModel(this, destination);
  }

  /**
   * Frees every weight, gradient, optimizer state and scratch buffer, and
   * stops the workers. A batch still running on them is cancelled at its
   * next step, and what it reads is freed once they have stopped, not under
   * them.
   */
  dispose(): void {
    const busy = this.parallel.peek()?.busy ?? false;
    const stopped = this.stopWorkers();
    const free = () => {
      for (const layer of this.layers) layer.dispose();
      this.compiled?.optimizer?.dispose();
      this.scratchBuffers?.dispose();
      this.scratchBuffers = undefined;
    };
    if (busy) void stopped.then(free);
    else free();
  }
}

function sameShape(a: SampleShape, b: SampleShape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

export type { Callback };
