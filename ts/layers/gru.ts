/** The GRU layer (Keras' `GRU`): see `GruConfig` for the equations. */
import type { Constraint, GruConfig, GruDims, InitializerName, Ptr, Regularizer } from '../kernel/types.js';
import { nextSeed, Random } from '../random.js';
import { formatShape, type SampleShape, sizeOf, Tensor } from '../tensor.js';
import type { GruPartCall } from '../worker/protocol.js';
import { type CheckedConstraint, checkConstraint } from './constraints.js';
import { checkRate } from './dropout.js';
import {
  type Activation,
  checkInput,
  checkRegularizer,
  Layer,
  type LayerArgs,
  type Weight,
  type WeightTraining,
} from './layer.js';

export interface GruLayerArgs extends LayerArgs, Partial<GruConfig> {
  units: number;
  /**
   * Fraction of the input features dropped at training time, one mask per
   * sequence for all its steps and all gates (Keras 3's default GRU).
   */
  dropout?: number;
  /**
   * Fraction of the state's units dropped in the recurrent products (all
   * three gates; the update keeps the whole state), one mask per sequence
   * for all its steps: variational dropout (Gal & Ghahramani 2016).
   */
  recurrentDropout?: number;
  /** Seeds the dropout masks; default: from `gw.setRandomSeed`'s generator. */
  seed?: number;
  /**
   * Also return the final state, as `[output, state]`, from `apply` (a
   * Sequential model passes one tensor between layers and refuses it).
   */
  returnState?: boolean;
  /**
   * Carry each sequence's final state into the next batch as its initial
   * state, row by row (Keras' `stateful`): for sequences fed a chunk at a
   * time, such as a stream predicted step by step. Every batch must then
   * hold the same number of sequences, the model's `batchSize` (declared on
   * its first layer); `resetStates()` starts them from zeros again.
   */
  stateful?: boolean;
  useBias?: boolean;
  kernelInitializer?: InitializerName;
  recurrentInitializer?: InitializerName;
  biasInitializer?: InitializerName;
  /** Penalties on the weights, added to the loss (Keras' `kernel_regularizer` …). */
  kernelRegularizer?: Regularizer;
  recurrentRegularizer?: Regularizer;
  biasRegularizer?: Regularizer;
  /** Projections applied after each update (Keras' `kernel_constraint` …; see `gw.constraints`). */
  kernelConstraint?: Constraint;
  recurrentConstraint?: Constraint;
  biasConstraint?: Constraint;
}

export class Gru extends Layer {
  readonly className = 'GRU';
  readonly units: number;
  readonly config: GruConfig;
  readonly useBias: boolean;
  private readonly initializers: Record<'kernel' | 'recurrent' | 'bias', InitializerName>;
  readonly regularizers: Record<'kernel' | 'recurrent' | 'bias', Regularizer | undefined>;
  readonly constraints: Record<'kernel' | 'recurrent' | 'bias', CheckedConstraint | undefined>;
  private w: { kernel: Weight; recurrentKernel: Weight; bias: Weight | undefined } | undefined;
  readonly dropout: number;
  readonly recurrentDropout: number;
  readonly returnState: boolean;
  private readonly isStateful: boolean;
  /** The batch size a stateful layer's model fixes (see `bindBatchSize`). */
  private statefulBatch: number | undefined;
  /** A stateful layer's state `[batch, units]`, allocated on first use. */
  private carried: Ptr | undefined;
  private readonly random: Random;
  /** The last training forward: its (dropped-out) input, dims, cache, masks. */
  private saved:
    | {
        x: Ptr;
        dims: GruDims;
        cache: Ptr;
        mask: Ptr | undefined;
        dropoutMask: Ptr | undefined;
        recurrentMask: Ptr | undefined;
      }
    | undefined;

  /** The arguments it was made with (Bidirectional clones them). */
  readonly args: Readonly<GruLayerArgs>;

  constructor(args: GruLayerArgs) {
    super(args, 'gru');
    this.args = { ...args };
    if (!Number.isInteger(args.units) || args.units < 1) {
      throw new Error(`gru: \`units\` must be a positive integer, got ${args.units}`);
    }
    this.units = args.units;
    this.config = {
      resetAfter: args.resetAfter ?? false,
      goBackwards: args.goBackwards ?? false,
      returnSequences: args.returnSequences ?? false,
      activation: args.activation ?? 'tanh',
      recurrentActivation: args.recurrentActivation ?? 'sigmoid',
    };
    for (const [name, value] of [
      ['activation', this.config.activation],
      ['recurrentActivation', this.config.recurrentActivation],
    ] as const) {
      if (value === 'softmax') throw new Error(`gru: \`${name}\` cannot be softmax`);
    }
    this.useBias = args.useBias ?? true;
    this.dropout = args.dropout ?? 0;
    checkRate('gru', 'dropout', this.dropout);
    this.recurrentDropout = args.recurrentDropout ?? 0;
    this.returnState = args.returnState ?? false;
    this.isStateful = args.stateful ?? false;
    checkRate('gru', 'recurrentDropout', this.recurrentDropout);
    this.random = new Random(args.seed ?? nextSeed());
    this.initializers = {
      kernel: args.kernelInitializer ?? 'glorotUniform',
      recurrent: args.recurrentInitializer ?? 'orthogonal',
      bias: args.biasInitializer ?? 'zeros',
    };
    this.regularizers = {
      kernel: checkRegularizer(args.kernelRegularizer, `gru ${this.name}: kernelRegularizer`),
      recurrent: checkRegularizer(args.recurrentRegularizer, `gru ${this.name}: recurrentRegularizer`),
      bias: checkRegularizer(args.biasRegularizer, `gru ${this.name}: biasRegularizer`),
    };
    this.constraints = {
      kernel: checkConstraint(args.kernelConstraint, `gru ${this.name}: kernelConstraint`),
      recurrent: checkConstraint(args.recurrentConstraint, `gru ${this.name}: recurrentConstraint`),
      bias: checkConstraint(args.biasConstraint, `gru ${this.name}: biasConstraint`),
    };
  }

  /** How training treats the weight `part` besides its gradient. */
  private training(part: 'kernel' | 'recurrent' | 'bias'): WeightTraining {
    return { regularizer: this.regularizers[part], constraint: this.constraints[part] };
  }

  computeOutputShape(inputShape: SampleShape): SampleShape {
    if (inputShape.length !== 2) {
      throw new Error(
        `gru ${this.name}: expects samples of shape [steps, features], got ${formatShape(inputShape)}`,
      );
    }
    return this.config.returnSequences ? [inputShape[0] ?? null, this.units] : [this.units];
  }

  paramCountFor(inputShape: SampleShape): number {
    this.computeOutputShape(inputShape);
    const [, input] = inputShape as [number, number];
    const h3 = 3 * this.units;
    return (input + this.units) * h3 + (this.useBias ? (this.config.resetAfter ? 2 : 1) * h3 : 0);
  }

  protected createWeights(inputShape: SampleShape): void {
    this.computeOutputShape(inputShape);
    const [, input] = inputShape as [number, number];
    const h3 = 3 * this.units;
    this.w = {
      kernel: this.addWeight('kernel', [input, h3], this.initializers.kernel, this.training('kernel')),
      recurrentKernel: this.addWeight(
        'recurrent_kernel',
        [this.units, h3],
        this.initializers.recurrent,
        this.training('recurrent'),
      ),
      bias: this.useBias
        ? this.addWeight(
            'bias',
            this.config.resetAfter ? [2, h3] : [h3],
            this.initializers.bias,
            this.training('bias'),
          )
        : undefined,
    };
  }

  private get weightsOrThrow() {
    if (!this.w) throw new Error(`layer ${this.name} is not built`);
    return this.w;
  }

  override get stateful(): boolean {
    return this.isStateful;
  }

  override bindBatchSize(batchSize: number | undefined): void {
    if (!this.isStateful) return;
    if (batchSize === undefined) {
      throw new Error(
        `gru ${this.name} is stateful: the model needs a fixed batch size (batchSize on its first layer, as Keras' batch_input_shape)`,
      );
    }
    this.statefulBatch = batchSize;
  }

  /**
   * Zeros the carried state, or sets it to `state` (`[batch, units]`);
   * nothing for a layer that is not stateful and is given no state.
   */
  override resetStates(state?: Tensor): void {
    if (!this.isStateful) {
      if (state) throw new Error(`gru ${this.name} is not stateful: it keeps no state to set`);
      return;
    }
    if (!state) {
      if (this.carried !== undefined) this.kernel.view(this.carried).fill(0);
      return;
    }
    const batch = this.expectedBatch();
    if (state.rank !== 2 || state.shape[0] !== batch || state.shape[1] !== this.units) {
      throw new Error(
        `gru ${this.name}: a state must have shape [${batch}, ${this.units}], got [${state.shape.join(', ')}]`,
      );
    }
    const values = state.dataSync();
    this.kernel.view(this.carriedState(batch) as Ptr).set(values);
  }

  private expectedBatch(): number {
    const batch = this.statefulBatch ?? this.batchSize;
    if (batch === undefined) {
      throw new Error(
        `gru ${this.name} is stateful: give it (or its model's first layer) a batchSize, the number of sequences its state carries`,
      );
    }
    return batch;
  }

  /** A stateful layer's carried state for a batch of `batch` sequences, checked; else `undefined`. */
  private carriedState(batch: number): Ptr | undefined {
    if (!this.isStateful) return undefined;
    const expected = this.expectedBatch();
    if (batch !== expected) {
      throw new Error(
        `gru ${this.name} is stateful with batch size ${expected}: every batch must hold ${expected} sequences, got ${batch} (call with batchSize ${expected} and a number of samples it divides)`,
      );
    }
    if (this.carried === undefined) {
      this.carried = this.kernel.alloc(batch * this.units);
      this.kernel.view(this.carried).fill(0);
    }
    return this.carried;
  }

  /** Copies each sequence's final state from a forward's `output` into `target` (`[batch, units]`). */
  private finalStateInto(output: Ptr, batch: number, steps: number, target: Ptr): void {
    const from = this.kernel.view(output);
    const to = this.kernel.view(target);
    if (!this.config.returnSequences) {
      to.set(from.subarray(0, batch * this.units));
      return;
    }
    // The final state is the last output in processing order.
    for (let b = 0; b < batch; b++) {
      to.set(
        from.subarray((b * steps + steps - 1) * this.units, (b * steps + steps) * this.units),
        b * this.units,
      );
    }
  }

  forward(input: Activation, training: boolean): Activation {
    checkInput(this, input);
    const [batch, steps, inputSize] = input.shape as [number, number, number];
    const initialState = this.carriedState(batch);
    const dims = { batch, steps, input: inputSize, units: this.units };
    const outputShape = this.outputShapeFor(input.shape);
    const output = this.buffer(
      'output',
      outputShape.reduce((a, b) => a * b, 1),
    );
    const cache = training ? this.buffer('cache', this.kernel.gruCacheLength(dims)) : undefined;
    const w = this.weightsOrThrow;
    let x = input.ptr;
    let dropoutMask: Ptr | undefined;
    if (training && this.dropout > 0) {
      dropoutMask = this.buffer('dropoutMask', batch * inputSize);
      this.kernel.dropoutMask(dropoutMask, this.dropout, this.random.nextUint32());
      x = this.buffer('droppedInput', batch * steps * inputSize);
      this.kernel.multiplyPerSequence(input.ptr, dropoutMask, batch, x);
    }
    let recurrentMask: Ptr | undefined;
    if (training && this.recurrentDropout > 0) {
      recurrentMask = this.buffer('recurrentMask', batch * this.units);
      this.kernel.dropoutMask(recurrentMask, this.recurrentDropout, this.random.nextUint32());
    }
    this.kernel.gruForward(dims, this.config, {
      x,
      kernel: w.kernel.ptr,
      recurrentKernel: w.recurrentKernel.ptr,
      bias: w.bias?.ptr,
      initialState,
      mask: input.mask,
      recurrentMask,
      output,
      cache,
    });
    if (initialState !== undefined) this.finalStateInto(output, batch, steps, initialState);
    this.saved =
      cache === undefined ? undefined : { x, dims, cache, mask: input.mask, dropoutMask, recurrentMask };
    return { ptr: output, shape: outputShape, mask: this.outputMask(input.mask, batch, steps) };
  }

  /**
   * @internal An inference forward with the units split into `count` parts
   * (at most `units`), which `runPart` runs at the same time, each on a
   * worker of its own over this kernel's shared memory. If a part fails, the
   * others are stopped, and the first failure is thrown once all have
   * returned.
   */
  async forwardInParts(
    input: Activation,
    count: number,
    runPart: (call: GruPartCall) => Promise<void>,
  ): Promise<Activation> {
    checkInput(this, input);
    if (this.isStateful) throw new Error(`gru ${this.name} is stateful: it is not split between workers`);
    const [batch, steps, inputSize] = input.shape as [number, number, number];
    const dims = { batch, steps, input: inputSize, units: this.units };
    const outputShape = this.outputShapeFor(input.shape);
    const output = this.buffer('output', sizeOf(outputShape));
    const exchange = this.buffer('exchange', this.kernel.gruExchangeLength(dims));
    this.kernel.resetGruExchange(exchange);
    const w = this.weightsOrThrow;
    const buffers = {
      x: input.ptr,
      kernel: w.kernel.ptr,
      recurrentKernel: w.recurrentKernel.ptr,
      bias: w.bias?.ptr,
      mask: input.mask,
      exchange,
      output,
    };
    this.saved = undefined;
    // The first failure is the cause: the parts it stops fail after it.
    let cause: { error: unknown } | undefined;
    const parts = Array.from({ length: count }, (_, index) =>
      runPart({ dims, config: this.config, buffers, part: { index, count } }).catch((error: unknown) => {
        cause ??= { error };
        // The other parts would wait for this one at their next meeting.
        this.kernel.abandonGruParts(exchange);
      }),
    );
    await Promise.all(parts);
    if (cause) throw cause.error;
    return { ptr: output, shape: outputShape, mask: this.outputMask(input.mask, batch, steps) };
  }

  /**
   * Inference on a tensor outside a model, from `initialState` (`[B, H]`;
   * by default zeros, or a stateful layer's carried state, which the call
   * then advances); with `returnState`, `[output, finalState]`.
   */
  override apply(input: Tensor, options: { initialState?: Tensor } = {}): Tensor | Tensor[] {
    this.buildFor(input);
    checkInput(this, { ptr: input.ptr, shape: input.shape });
    const [batch, steps, inputSize] = input.shape as [number, number, number];
    const given = options.initialState;
    if (given && (given.rank !== 2 || given.shape[0] !== batch || given.shape[1] !== this.units)) {
      throw new Error(
        `gru ${this.name}: initialState must have shape [${batch}, ${this.units}], got [${given.shape.join(', ')}]`,
      );
    }
    const carried = this.carriedState(batch);
    const dims = { batch, steps, input: inputSize, units: this.units };
    const shape = this.outputShapeFor(input.shape);
    const output = this.buffer('output', sizeOf(shape));
    const w = this.weightsOrThrow;
    this.kernel.gruForward(dims, this.config, {
      x: input.ptr,
      kernel: w.kernel.ptr,
      recurrentKernel: w.recurrentKernel.ptr,
      bias: w.bias?.ptr,
      initialState: given?.ptr ?? carried,
      output,
    });
    if (carried !== undefined) this.finalStateInto(output, batch, steps, carried);
    const out = this.copyOut(output, shape);
    if (!this.returnState) return out;
    const state = this.kernel.alloc(batch * this.units);
    this.finalStateInto(output, batch, steps, state);
    return [out, new Tensor([batch, this.units], state, this.kernel)];
  }

  /**
   * The mask follows a returned sequence (a single final state has none),
   * reversed with `goBackwards`, whose outputs come in processing order.
   */
  private outputMask(mask: Ptr | undefined, batch: number, steps: number): Ptr | undefined {
    if (mask === undefined || !this.config.returnSequences) return undefined;
    if (!this.config.goBackwards) return mask;
    const reversed = this.buffer('outputMask', batch * steps);
    const from = this.kernel.view(mask);
    const to = this.kernel.view(reversed);
    for (let b = 0; b < batch; b++) {
      for (let s = 0; s < steps; s++) to[b * steps + s] = from[b * steps + steps - 1 - s] as number;
    }
    return reversed;
  }

  backward(dOutput: Ptr, needInputGrad: boolean): Ptr | undefined {
    if (!this.saved) throw new Error(`gru ${this.name}: backward without a training forward`);
    const { x, dims, cache, mask, dropoutMask, recurrentMask } = this.saved;
    const w = this.weightsOrThrow;
    const inputLength = dims.batch * dims.steps * dims.input;
    const dX = needInputGrad ? this.buffer('dX', inputLength) : undefined;
    // With input dropout, the kernel's dX is for the dropped-out input.
    const dKernelInput =
      dX !== undefined && dropoutMask !== undefined ? this.buffer('dDroppedInput', inputLength) : dX;
    this.kernel.gruBackward(dims, this.config, {
      x,
      kernel: w.kernel.ptr,
      recurrentKernel: w.recurrentKernel.ptr,
      bias: w.bias?.ptr,
      cache,
      mask,
      recurrentMask,
      dOutput,
      dKernel: w.kernel.grad,
      dRecurrentKernel: w.recurrentKernel.grad,
      dBias: w.bias?.grad,
      dX: dKernelInput,
    });
    if (dX !== undefined && dKernelInput !== undefined && dKernelInput !== dX && dropoutMask !== undefined) {
      this.kernel.multiplyPerSequence(dKernelInput, dropoutMask, dims.batch, dX);
    }
    return dX;
  }

  override dispose(): void {
    if (this.carried !== undefined) this.kernel.free(this.carried);
    this.carried = undefined;
    super.dispose();
  }

  override randomPositions(): number[] {
    return [this.random.position];
  }

  override restoreRandomPositions(positions: readonly number[]): void {
    this.random.position = positions[0] ?? this.random.position;
  }

  getConfig(): Record<string, unknown> {
    return {
      name: this.name,
      units: this.units,
      ...this.config,
      useBias: this.useBias,
      dropout: this.dropout,
      recurrentDropout: this.recurrentDropout,
      returnState: this.returnState,
      stateful: this.isStateful,
      kernelInitializer: this.initializers.kernel,
      recurrentInitializer: this.initializers.recurrent,
      biasInitializer: this.initializers.bias,
    };
  }
}
