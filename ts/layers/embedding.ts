/**
 * Keras' `Embedding`: a sample of `[steps]` integer ids (float32 values
 * holding integers) becomes `[steps, outputDim]`, each id's row of a table
 * `[inputDim, outputDim]`. With `maskZero`, id 0 is padding: later layers
 * skip its steps, as after `masking`.
 */
import type { Constraint, InitializerName, Ptr, Regularizer } from '../kernel/types.js';
import { formatShape, type SampleShape } from '../tensor.js';
import { type CheckedConstraint, checkConstraint } from './constraints.js';
import {
  type Activation,
  checkInput,
  checkRegularizer,
  Layer,
  type LayerArgs,
  type Weight,
} from './layer.js';

export interface EmbeddingLayerArgs extends LayerArgs {
  /** Ids run over `0 .. inputDim − 1`. */
  inputDim: number;
  /** Values per id. */
  outputDim: number;
  /** Whether id 0 marks padding. Default false. */
  maskZero?: boolean;
  /** Steps per sample, when there is no `inputShape`: `null` for any number. */
  inputLength?: number | null;
  /** Default `randomUniform` (±0.05), as in Keras. */
  embeddingsInitializer?: InitializerName;
  /** A penalty on the vectors, added to the loss (Keras' `embeddings_regularizer`). */
  embeddingsRegularizer?: Regularizer;
  /** A projection applied after each update (Keras' `embeddings_constraint`). */
  embeddingsConstraint?: Constraint;
}

export class Embedding extends Layer {
  readonly className = 'Embedding';
  readonly inputDim: number;
  readonly outputDim: number;
  readonly maskZero: boolean;
  private readonly initializer: InitializerName;
  readonly regularizer: Regularizer | undefined;
  readonly constraint: CheckedConstraint | undefined;
  private table: Weight | undefined;
  private saved: { ids: Ptr; rows: number } | undefined;

  constructor(args: EmbeddingLayerArgs) {
    const length = args.inputLength;
    super(args.inputShape || length === undefined ? args : { ...args, inputShape: [length] }, 'embedding');
    for (const name of ['inputDim', 'outputDim'] as const) {
      const value = args[name];
      if (!Number.isInteger(value) || value < 1) {
        throw new Error(`embedding: \`${name}\` must be a positive integer, got ${value}`);
      }
    }
    this.inputDim = args.inputDim;
    this.outputDim = args.outputDim;
    this.maskZero = args.maskZero ?? false;
    this.initializer = args.embeddingsInitializer ?? 'randomUniform';
    this.regularizer = checkRegularizer(
      args.embeddingsRegularizer,
      `embedding ${this.name}: embeddingsRegularizer`,
    );
    this.constraint = checkConstraint(
      args.embeddingsConstraint,
      `embedding ${this.name}: embeddingsConstraint`,
    );
  }

  paramCountFor(inputShape: SampleShape): number {
    this.computeOutputShape(inputShape);
    return this.inputDim * this.outputDim;
  }

  computeOutputShape(inputShape: SampleShape): SampleShape {
    if (inputShape.length !== 1) {
      throw new Error(
        `embedding ${this.name}: expects samples of shape [steps], got ${formatShape(inputShape)}`,
      );
    }
    return [inputShape[0] ?? null, this.outputDim];
  }

  protected createWeights(inputShape: SampleShape): void {
    this.computeOutputShape(inputShape);
    this.table = this.addWeight('embeddings', [this.inputDim, this.outputDim], this.initializer, {
      regularizer: this.regularizer,
      constraint: this.constraint,
    });
  }

  private get tableOrThrow(): Weight {
    if (!this.table) throw new Error(`layer ${this.name} is not built`);
    return this.table;
  }

  private dims(rows: number) {
    return { rows, vocabulary: this.inputDim, dim: this.outputDim };
  }

  forward(input: Activation, training: boolean): Activation {
    checkInput(this, input);
    const [batch, steps] = input.shape as [number, number];
    const rows = batch * steps;
    const out = this.buffer('out', rows * this.outputDim);
    const mask = this.maskZero ? this.buffer('mask', rows) : undefined;
    this.kernel.embeddingForward(this.dims(rows), {
      ids: input.ptr,
      table: this.tableOrThrow.ptr,
      out,
      mask,
    });
    this.saved = training ? { ids: input.ptr, rows } : undefined;
    return { ptr: out, shape: [batch, steps, this.outputDim], mask };
  }

  /** Writes the table's gradient; ids have none, so nothing is returned. */
  backward(dOutput: Ptr): Ptr | undefined {
    if (!this.saved) throw new Error(`embedding ${this.name}: backward without a training forward`);
    const { ids, rows } = this.saved;
    this.kernel.embeddingBackward(this.dims(rows), { ids, dOut: dOutput, dTable: this.tableOrThrow.grad });
    return undefined;
  }

  getConfig(): Record<string, unknown> {
    return {
      name: this.name,
      inputDim: this.inputDim,
      outputDim: this.outputDim,
      maskZero: this.maskZero,
      embeddingsInitializer: this.initializer,
    };
  }
}
