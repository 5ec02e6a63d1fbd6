/** Names and option records shared by the kernel's callers. */

/** Element-wise activations, and softmax over the last axis (dense only). */
export type Activation = 'linear' | 'sigmoid' | 'tanh' | 'relu' | 'hardSigmoid' | 'softmax';

export type LossName =
  | 'binaryCrossentropy'
  | 'categoricalCrossentropy'
  | 'sparseCategoricalCrossentropy'
  | 'meanSquaredError'
  | 'meanAbsoluteError'
  | 'meanAbsolutePercentageError'
  | 'meanSquaredLogarithmicError'
  | 'huber'
  | 'logcosh'
  | 'poisson'
  | 'kullbackLeiblerDivergence'
  | 'hinge'
  | 'squaredHinge'
  | 'categoricalHinge'
  | 'cosineSimilarity';

/** How a bidirectional layer combines its two directions. */
export type MergeMode = 'concat' | 'sum' | 'mul' | 'ave';

export type InitializerName =
  | 'zeros'
  | 'ones'
  | 'glorotUniform'
  | 'glorotNormal'
  | 'heUniform'
  | 'randomUniform'
  | 'orthogonal';

/** Keras' clipping options; at most one may be set. */
export interface GradientClipping {
  /** Scale each gradient tensor to at most this norm. */
  clipnorm?: number | undefined;
  /** Clamp each gradient element to `[−clipvalue, clipvalue]`. */
  clipvalue?: number | undefined;
  /** Scale all gradients together to at most this joint norm. */
  globalClipnorm?: number | undefined;
}

/** Byte offset of a live kernel allocation of `float32` values. */
export type Ptr = number;

/** `B` sequences of `T` steps of `I` features into `H` units. */
export interface GruDims {
  batch: number;
  steps: number;
  input: number;
  units: number;
}

/**
 * A GRU's options, with Keras' meaning. Gate order z | r | h; the state update
 * is `h' = z⊙h + (1 − z)⊙h̃` (Keras, PyTorch). Cho et al. write
 * `h' = (1 − z)⊙h + z⊙h̃`: the same model with the update gate negated.
 */
export interface GruConfig {
  /**
   * `false`: `h̃ = φ(x·W_h + (r⊙h)·U_h + b)`, the paper's form and the only one
   * TensorFlow.js has. `true`: `h̃ = φ(x·W_h + b_ih + r⊙(h·U_h + b_hh))`, Keras
   * 2+'s default and PyTorch's; the bias is then `[2, 3H]`.
   */
  resetAfter: boolean;
  /** Read the sequence from its end; outputs come in processing order. */
  goBackwards: boolean;
  /** Output every step's state `[B, T, H]`, not only the last `[B, H]`. */
  returnSequences: boolean;
  /** φ, on the candidate state (Keras' default tanh). */
  activation: Activation;
  /**
   * σ, on the gates. Keras 2+ defaults to sigmoid; TensorFlow.js to
   * hardSigmoid (`clamp(0.2·x + 0.5, 0, 1)`).
   */
  recurrentActivation: Activation;
}

export const DEFAULT_GRU_CONFIG: Readonly<GruConfig> = Object.freeze({
  resetAfter: false,
  goBackwards: false,
  returnSequences: false,
  activation: 'tanh',
  recurrentActivation: 'sigmoid',
});

export interface GruWeights {
  /** `[I, 3H]` */
  kernel: Ptr;
  /** `[H, 3H]` */
  recurrentKernel: Ptr;
  /** `[3H]`, or `[2, 3H]` with `resetAfter`; absent without bias. */
  bias?: Ptr | undefined;
}

/** An embedding lookup: `rows` ids into a table of `vocabulary` rows of `dim` values. */
export interface EmbeddingDims {
  /** `B·T` */
  rows: number;
  vocabulary: number;
  dim: number;
}

export interface DenseDims {
  /** `B`, or `B·T` for a sequence input. */
  rows: number;
  input: number;
  units: number;
}

/**
 * Keras' `axis` of a norm constraint: the weight's axes each norm sums over
 * (negative counts from the last). `0` on a kernel `[inputs, units]` bounds
 * each unit's incoming weights; `[0, 1]` the whole matrix.
 */
export type ConstraintAxis = number | readonly number[];

/**
 * A projection applied to a weight after each optimizer update (Keras'
 * constraints; the defaults are Keras'): `maxNorm` rescales slices whose L2
 * norm exceeds `maxValue` (2) to it; `unitNorm` rescales every slice to norm
 * 1; `minMaxNorm` moves a slice's norm `rate` (1) of the way into
 * [`minValue` (0), `maxValue` (1)]; `nonNeg` zeroes negative weights. The
 * norms sum over `axis` (0), with Keras' `ε = 1e-7` added before dividing.
 */
export type Constraint =
  | { kind: 'maxNorm'; maxValue?: number; axis?: ConstraintAxis }
  | { kind: 'unitNorm'; axis?: ConstraintAxis }
  | { kind: 'minMaxNorm'; minValue?: number; maxValue?: number; rate?: number; axis?: ConstraintAxis }
  | { kind: 'nonNeg' };

/** A weight penalty added to the loss (Keras' `L1L2` regularizer): `l1·Σ|w| + l2·Σw²`. */
export interface Regularizer {
  l1?: number;
  l2?: number;
}
