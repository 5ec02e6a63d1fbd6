/**
 * Model topology in the TensorFlow.js / Keras layers format: each layer as
 * `{ class_name, config }` with Keras' snake_case keys, and back.
 */
import type {
  Activation,
  Constraint,
  ConstraintAxis,
  InitializerName,
  MergeMode,
  Regularizer,
} from '../kernel/types.js';
import { ActivationLayer } from '../layers/activation.js';
import { Bidirectional } from '../layers/bidirectional.js';
import { type CheckedConstraint, CONSTRAINT_DEFAULTS } from '../layers/constraints.js';
import { Dense } from '../layers/dense.js';
import { Dropout } from '../layers/dropout.js';
import { Embedding } from '../layers/embedding.js';
import { Gru } from '../layers/gru.js';
import type { Layer } from '../layers/layer.js';
import { Masking } from '../layers/masking.js';
import { LayerNormalization } from '../layers/normalization.js';
import { GlobalPooling1D } from '../layers/pooling.js';
import { Flatten, RepeatVector } from '../layers/reshape.js';
import type { SampleShape } from '../tensor.js';

export interface LayerJson {
  class_name: string;
  config: Record<string, unknown>;
}

const ACTIVATIONS: Record<Activation, string> = {
  linear: 'linear',
  sigmoid: 'sigmoid',
  tanh: 'tanh',
  relu: 'relu',
  hardSigmoid: 'hard_sigmoid',
  softmax: 'softmax',
};

const INITIALIZERS: Record<InitializerName, LayerJson> = {
  zeros: { class_name: 'Zeros', config: {} },
  ones: { class_name: 'Ones', config: {} },
  glorotUniform: {
    class_name: 'VarianceScaling',
    config: { scale: 1, mode: 'fan_avg', distribution: 'uniform', seed: null },
  },
  glorotNormal: {
    class_name: 'VarianceScaling',
    config: { scale: 1, mode: 'fan_avg', distribution: 'normal', seed: null },
  },
  heUniform: {
    class_name: 'VarianceScaling',
    config: { scale: 2, mode: 'fan_in', distribution: 'uniform', seed: null },
  },
  randomUniform: { class_name: 'RandomUniform', config: { minval: -0.05, maxval: 0.05, seed: null } },
  orthogonal: { class_name: 'Orthogonal', config: { gain: 1, seed: null } },
};

/** Where a malformed topology is, for error messages. */
class Path {
  constructor(
    readonly file: string,
    readonly at: string,
  ) {}

  child(key: string | number): Path {
    return new Path(this.file, typeof key === 'number' ? `${this.at}[${key}]` : `${this.at}.${key}`);
  }

  error(message: string): Error {
    return new Error(`${this.file}: ${this.at}: ${message}`);
  }
}

function field(config: Record<string, unknown>, key: string): unknown {
  return Object.hasOwn(config, key) ? config[key] : undefined;
}

function boolean(config: Record<string, unknown>, key: string, path: Path, fallback: boolean): boolean {
  const value = field(config, key);
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'boolean')
    throw path.child(key).error(`expected true or false, got ${JSON.stringify(value)}`);
  return value;
}

function number(config: Record<string, unknown>, key: string, path: Path, fallback?: number): number {
  const value = field(config, key);
  if ((value === undefined || value === null) && fallback !== undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw path.child(key).error(`expected a number, got ${JSON.stringify(value)}`);
  }
  return value;
}

function activation(
  config: Record<string, unknown>,
  key: string,
  path: Path,
  fallback: Activation,
): Activation {
  const value = field(config, key) ?? fallback;
  const entry = Object.entries(ACTIVATIONS).find(([camel, snake]) => value === snake || value === camel);
  if (!entry) throw path.child(key).error(`unsupported activation ${JSON.stringify(value)}`);
  return entry[0] as Activation;
}

function name(config: Record<string, unknown>, path: Path): string | undefined {
  const value = field(config, 'name');
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.length === 0 || value.length > 200)
    throw path.child('name').error('expected a short string');
  return value;
}

/** A regularizer as Keras and TensorFlow.js write it: `L1L2` (or `L1`, `L2`) and its factors. */
function regularizerToJson(value: Regularizer | undefined): Record<string, unknown> | null {
  return value ? { class_name: 'L1L2', config: { l1: value.l1 ?? 0, l2: value.l2 ?? 0 } } : null;
}

/**
 * A Keras object field (`{ class_name, config }`, as regularizers and
 * constraints are written), or undefined when absent or null.
 */
function kerasObject(
  config: Record<string, unknown>,
  key: string,
  path: Path,
  what: string,
): { className: unknown; config: Record<string, unknown>; at: Path } | undefined {
  const value = field(config, key);
  if (value === undefined || value === null) return undefined;
  const at = path.child(key);
  if (typeof value !== 'object' || Array.isArray(value)) throw at.error(`expected a ${what} object or null`);
  const entry = value as Record<string, unknown>;
  const inner = field(entry, 'config') ?? {};
  if (typeof inner !== 'object' || inner === null || Array.isArray(inner))
    throw at.child('config').error('expected an object');
  return { className: field(entry, 'class_name'), config: inner as Record<string, unknown>, at };
}

function regularizer(config: Record<string, unknown>, key: string, path: Path): Regularizer | undefined {
  const entry = kerasObject(config, key, path, 'regularizer');
  if (!entry) return undefined;
  const { className, config: factors, at } = entry;
  if (className !== 'L1L2' && className !== 'L1' && className !== 'L2')
    throw at
      .child('class_name')
      .error(`only the L1, L2 and L1L2 regularizers are supported, got ${JSON.stringify(className)}`);
  return {
    l1: number(factors, 'l1', at.child('config'), 0),
    l2: number(factors, 'l2', at.child('config'), 0),
  };
}

/** A constraint as Keras and TensorFlow.js write it, every field given. */
function constraintToJson(value: CheckedConstraint | undefined): Record<string, unknown> | null {
  if (!value) return null;
  switch (value.kind) {
    case 'nonNeg':
      return { class_name: 'NonNeg', config: {} };
    case 'maxNorm':
      return { class_name: 'MaxNorm', config: { max_value: value.maxValue, axis: value.axis } };
    case 'unitNorm':
      return { class_name: 'UnitNorm', config: { axis: value.axis } };
    case 'minMaxNorm':
      return {
        class_name: 'MinMaxNorm',
        config: { min_value: value.minValue, max_value: value.maxValue, rate: value.rate, axis: value.axis },
      };
  }
}

function constraint(config: Record<string, unknown>, key: string, path: Path): Constraint | undefined {
  const entry = kerasObject(config, key, path, 'constraint');
  if (!entry) return undefined;
  const { className, config: c, at } = entry;
  const configPath = at.child('config');
  const axis = (): ConstraintAxis => {
    const value = field(c, 'axis');
    if (value === undefined || value === null) return CONSTRAINT_DEFAULTS.axis;
    if (Number.isInteger(value)) return value as number;
    if (Array.isArray(value) && value.length > 0 && value.every((a) => Number.isInteger(a)))
      return value as number[];
    throw configPath
      .child('axis')
      .error(`expected an integer or a list of them, got ${JSON.stringify(value)}`);
  };
  switch (className) {
    case 'MaxNorm':
      return {
        kind: 'maxNorm',
        maxValue: number(c, 'max_value', configPath, CONSTRAINT_DEFAULTS.maxNorm.maxValue),
        axis: axis(),
      };
    case 'UnitNorm':
      return { kind: 'unitNorm', axis: axis() };
    case 'MinMaxNorm':
      return {
        kind: 'minMaxNorm',
        minValue: number(c, 'min_value', configPath, CONSTRAINT_DEFAULTS.minMaxNorm.minValue),
        maxValue: number(c, 'max_value', configPath, CONSTRAINT_DEFAULTS.minMaxNorm.maxValue),
        rate: number(c, 'rate', configPath, CONSTRAINT_DEFAULTS.minMaxNorm.rate),
        axis: axis(),
      };
    case 'NonNeg':
      return { kind: 'nonNeg' };
    default:
      throw at
        .child('class_name')
        .error(
          `only the MaxNorm, UnitNorm, MinMaxNorm and NonNeg constraints are supported, got ${JSON.stringify(className)}`,
        );
  }
}

/** Refuses what a layer config asks that is not computed here (activity regularizers). */
function refuseActivityRegularizer(config: Record<string, unknown>, path: Path): void {
  const value = field(config, 'activity_regularizer');
  if (value !== undefined && value !== null)
    throw path.child('activity_regularizer').error('activity regularizers are not supported');
}

/** The per-sample input shape a layer config declares, if any. */
export function declaredInputShape(config: Record<string, unknown>, path: Path): SampleShape | undefined {
  const value = field(config, 'batch_input_shape') ?? field(config, 'batch_shape');
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || value.length < 2)
    throw path.child('batch_input_shape').error('expected [null, ...dims]');
  const dims = value.slice(1);
  // Keras' `None` time axis (sequences of any length) is the first after the batch.
  const fine = (d: unknown, i: number) =>
    (d === null && i === 0) || (Number.isInteger(d) && (d as number) > 0 && (d as number) < 1e7);
  if (!dims.every(fine)) {
    throw path
      .child('batch_input_shape')
      .error(
        `every dimension after the batch must be a positive integer, except a null time axis, got ${JSON.stringify(value)}`,
      );
  }
  return dims as (number | null)[];
}

/** The batch size a layer config fixes (the first of `batch_input_shape`), if any. */
export function declaredBatchSize(config: Record<string, unknown>, path: Path): number | undefined {
  const value = field(config, 'batch_input_shape') ?? field(config, 'batch_shape');
  if (!Array.isArray(value)) return undefined;
  const batch: unknown = value[0];
  if (batch === null || batch === undefined) return undefined;
  if (!Number.isInteger(batch) || (batch as number) < 1 || (batch as number) > 1e7)
    throw path
      .child('batch_input_shape')
      .error(`the batch size must be null or a positive integer, got ${JSON.stringify(batch)}`);
  return batch as number;
}

/** What every saved layer config starts with. */
function savedIdentity(layer: Layer): { name: string; trainable: boolean } {
  return { name: layer.name, trainable: layer.trainable };
}

function gruToJson(layer: Gru): Record<string, unknown> {
  const c = layer.getConfig();
  return {
    ...savedIdentity(layer),
    units: layer.units,
    activation: ACTIVATIONS[layer.config.activation],
    recurrent_activation: ACTIVATIONS[layer.config.recurrentActivation],
    use_bias: layer.useBias,
    kernel_initializer: INITIALIZERS[c.kernelInitializer as InitializerName],
    recurrent_initializer: INITIALIZERS[c.recurrentInitializer as InitializerName],
    bias_initializer: INITIALIZERS[c.biasInitializer as InitializerName],
    kernel_regularizer: regularizerToJson(layer.regularizers.kernel),
    recurrent_regularizer: regularizerToJson(layer.regularizers.recurrent),
    bias_regularizer: regularizerToJson(layer.regularizers.bias),
    activity_regularizer: null,
    kernel_constraint: constraintToJson(layer.constraints.kernel),
    recurrent_constraint: constraintToJson(layer.constraints.recurrent),
    bias_constraint: constraintToJson(layer.constraints.bias),
    dropout: layer.dropout,
    recurrent_dropout: layer.recurrentDropout,
    implementation: null,
    reset_after: layer.config.resetAfter,
    return_sequences: layer.config.returnSequences,
    return_state: false,
    go_backwards: layer.config.goBackwards,
    stateful: layer.stateful,
    unroll: false,
  };
}

/** A layer as TensorFlow.js writes it; the first with its input shape and the model's batch size. */
export function layerToJson(layer: Layer, inputShape?: SampleShape, batchSize?: number): LayerJson {
  let json: LayerJson;
  if (layer instanceof Gru) {
    json = { class_name: 'GRU', config: gruToJson(layer) };
  } else if (layer instanceof Dense) {
    const c = layer.getConfig();
    json = {
      class_name: 'Dense',
      config: {
        ...savedIdentity(layer),
        units: layer.units,
        activation: ACTIVATIONS[layer.activation],
        use_bias: layer.useBias,
        kernel_initializer: INITIALIZERS[c.kernelInitializer as InitializerName],
        bias_initializer: INITIALIZERS[c.biasInitializer as InitializerName],
        kernel_regularizer: regularizerToJson(layer.regularizers.kernel),
        bias_regularizer: regularizerToJson(layer.regularizers.bias),
        activity_regularizer: null,
        kernel_constraint: constraintToJson(layer.constraints.kernel),
        bias_constraint: constraintToJson(layer.constraints.bias),
      },
    };
  } else if (layer instanceof Embedding) {
    json = {
      class_name: 'Embedding',
      config: {
        ...savedIdentity(layer),
        input_dim: layer.inputDim,
        output_dim: layer.outputDim,
        embeddings_initializer: INITIALIZERS[layer.getConfig().embeddingsInitializer as InitializerName],
        embeddings_regularizer: regularizerToJson(layer.regularizer),
        activity_regularizer: null,
        embeddings_constraint: constraintToJson(layer.constraint),
        mask_zero: layer.maskZero,
      },
    };
  } else if (layer instanceof ActivationLayer) {
    json = {
      class_name: 'Activation',
      config: { ...savedIdentity(layer), activation: ACTIVATIONS[layer.activation] },
    };
  } else if (layer instanceof GlobalPooling1D) {
    json = {
      class_name: layer.className,
      config: { ...savedIdentity(layer), data_format: 'channels_last' },
    };
  } else if (layer instanceof LayerNormalization) {
    json = {
      class_name: 'LayerNormalization',
      config: {
        ...savedIdentity(layer),
        axis: layer.axis,
        epsilon: layer.epsilon,
        center: layer.center,
        scale: layer.scale,
        beta_initializer: INITIALIZERS[layer.initializers.beta],
        gamma_initializer: INITIALIZERS[layer.initializers.gamma],
        beta_regularizer: regularizerToJson(layer.regularizers.beta),
        gamma_regularizer: regularizerToJson(layer.regularizers.gamma),
        beta_constraint: constraintToJson(layer.constraints.beta),
        gamma_constraint: constraintToJson(layer.constraints.gamma),
      },
    };
  } else if (layer instanceof RepeatVector) {
    json = { class_name: 'RepeatVector', config: { ...savedIdentity(layer), n: layer.n } };
  } else if (layer instanceof Flatten) {
    json = { class_name: 'Flatten', config: { ...savedIdentity(layer), data_format: 'channels_last' } };
  } else if (layer instanceof Masking) {
    json = {
      class_name: 'Masking',
      config: { ...savedIdentity(layer), mask_value: layer.maskValue },
    };
  } else if (layer instanceof Dropout) {
    json = {
      class_name: 'Dropout',
      config: {
        ...savedIdentity(layer),
        rate: layer.rate,
        noise_shape: null,
        seed: null,
      },
    };
  } else if (layer instanceof Bidirectional) {
    json = {
      class_name: 'Bidirectional',
      config: {
        ...savedIdentity(layer),
        merge_mode: layer.mergeMode,
        layer: {
          class_name: 'GRU',
          config: { ...gruToJson(layer.forwardLayer), name: layer.innerName, trainable: layer.trainable },
        },
      },
    };
  } else {
    throw new Error(`cannot save layer ${layer.name} (${layer.className})`);
  }
  if (inputShape) json.config.batch_input_shape = [batchSize ?? null, ...inputShape];
  json.config.dtype = 'float32';
  return json;
}

function gruFromJson(config: Record<string, unknown>, path: Path): Gru {
  // Also a Bidirectional's inner GRU, whose config the wrapper's check does not see.
  refuseActivityRegularizer(config, path);
  if (boolean(config, 'return_state', path, false)) {
    throw path
      .child('return_state')
      .error('returnState layers have two outputs, which a Sequential model cannot pass on');
  }
  const units = number(config, 'units', path);
  if (!Number.isInteger(units) || units < 1 || units > 65_536)
    throw path.child('units').error(`expected a positive integer, got ${units}`);
  return new Gru({
    name: name(config, path),
    units,
    activation: activation(config, 'activation', path, 'tanh'),
    // Keras 1/2 and TensorFlow.js write the default explicitly; a missing
    // value means the current Keras default.
    recurrentActivation: activation(config, 'recurrent_activation', path, 'sigmoid'),
    useBias: boolean(config, 'use_bias', path, true),
    dropout: number(config, 'dropout', path, 0),
    recurrentDropout: number(config, 'recurrent_dropout', path, 0),
    // Keras 2.3+ and TensorFlow.js always write it; files from before
    // reset_after existed mean the original (false) form.
    resetAfter: boolean(config, 'reset_after', path, false),
    returnSequences: boolean(config, 'return_sequences', path, false),
    goBackwards: boolean(config, 'go_backwards', path, false),
    stateful: boolean(config, 'stateful', path, false),
    trainable: boolean(config, 'trainable', path, true),
    ...defined({
      kernelRegularizer: regularizer(config, 'kernel_regularizer', path),
      recurrentRegularizer: regularizer(config, 'recurrent_regularizer', path),
      biasRegularizer: regularizer(config, 'bias_regularizer', path),
      kernelConstraint: constraint(config, 'kernel_constraint', path),
      recurrentConstraint: constraint(config, 'recurrent_constraint', path),
      biasConstraint: constraint(config, 'bias_constraint', path),
    }),
  });
}

/** The given fields only (strict optional arguments take no `undefined`). */
function defined<T extends Record<string, unknown>>(
  fields: T,
): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined)) as {
    [K in keyof T]?: Exclude<T[K], undefined>;
  };
}

/** A layer from its saved form. */
export function layerFromJson(json: unknown, path: Path): Layer {
  if (typeof json !== 'object' || json === null || Array.isArray(json))
    throw path.error('expected a layer object');
  const { class_name: className, config } = json as Partial<LayerJson>;
  if (typeof className !== 'string') throw path.child('class_name').error('missing');
  if (typeof config !== 'object' || config === null || Array.isArray(config))
    throw path.child('config').error('missing');
  const configPath = path.child('config');
  refuseActivityRegularizer(config, configPath);
  const inputShape = declaredInputShape(config, configPath);
  const batchSize = declaredBatchSize(config, configPath);
  const base = {
    name: name(config, configPath),
    trainable: boolean(config, 'trainable', configPath, true),
    ...(inputShape ? { inputShape } : {}),
    ...(batchSize ? { batchSize } : {}),
  };
  switch (className) {
    case 'GRU': {
      const layer = gruFromJson(config, configPath);
      return inputShape ? new Gru({ ...layer.args, ...base }) : layer;
    }
    case 'Dense': {
      const units = number(config, 'units', configPath);
      if (!Number.isInteger(units) || units < 1 || units > 1 << 20)
        throw configPath.child('units').error(`expected a positive integer, got ${units}`);
      return new Dense({
        ...base,
        units,
        activation: activation(config, 'activation', configPath, 'linear'),
        useBias: boolean(config, 'use_bias', configPath, true),
        ...defined({
          kernelRegularizer: regularizer(config, 'kernel_regularizer', configPath),
          biasRegularizer: regularizer(config, 'bias_regularizer', configPath),
          kernelConstraint: constraint(config, 'kernel_constraint', configPath),
          biasConstraint: constraint(config, 'bias_constraint', configPath),
        }),
      });
    }
    case 'Embedding': {
      const dim = (key: string) => {
        const value = number(config, key, configPath);
        if (!Number.isInteger(value) || value < 1 || value > 1 << 24)
          throw configPath.child(key).error(`expected a positive integer, got ${value}`);
        return value;
      };
      // Without a declared batch shape, Keras' `input_length` gives the steps.
      const length = field(config, 'input_length');
      if (length !== undefined && length !== null && !(Number.isInteger(length) && (length as number) > 0))
        throw configPath
          .child('input_length')
          .error(`expected a positive integer or null, got ${JSON.stringify(length)}`);
      return new Embedding({
        ...base,
        inputDim: dim('input_dim'),
        outputDim: dim('output_dim'),
        maskZero: boolean(config, 'mask_zero', configPath, false),
        ...defined({
          embeddingsRegularizer: regularizer(config, 'embeddings_regularizer', configPath),
          embeddingsConstraint: constraint(config, 'embeddings_constraint', configPath),
        }),
        ...(inputShape || length === undefined ? {} : { inputLength: length as number | null }),
      });
    }
    case 'TimeDistributed': {
      // A Dense at every step is what Dense does to a sequence: load it as one.
      const inner = field(config, 'layer') as LayerJson | undefined;
      if (inner?.class_name !== 'Dense' || typeof inner.config !== 'object' || inner.config === null)
        throw configPath.child('layer').error('only a wrapped Dense is supported');
      const outer = Object.fromEntries(
        ['name', 'batch_input_shape', 'batch_shape']
          .filter((key) => key in config)
          .map((key) => [key, config[key]]),
      );
      return layerFromJson(
        { class_name: 'Dense', config: { ...inner.config, ...outer } },
        configPath.child('layer'),
      );
    }
    case 'Activation':
      return new ActivationLayer({
        ...base,
        activation: activation(config, 'activation', configPath, 'linear'),
      });
    case 'GlobalAveragePooling1D':
    case 'GlobalMaxPooling1D': {
      const format = field(config, 'data_format') ?? 'channels_last';
      if (format !== 'channels_last')
        throw configPath
          .child('data_format')
          .error(`only channels_last is supported, got ${JSON.stringify(format)}`);
      if (boolean(config, 'keepdims', configPath, false))
        throw configPath.child('keepdims').error('keepdims is not supported');
      return new GlobalPooling1D(base, className === 'GlobalAveragePooling1D' ? 'average' : 'max');
    }
    case 'LayerNormalization': {
      // Keras writes the axis as given (-1) or, once built, as a list of positive axes.
      const given = field(config, 'axis') ?? -1;
      const axis = Array.isArray(given) && given.length === 1 ? given[0] : given;
      if (!Number.isInteger(axis))
        throw configPath.child('axis').error(`expected one axis (the last), got ${JSON.stringify(given)}`);
      if (boolean(config, 'rms_scaling', configPath, false))
        throw configPath.child('rms_scaling').error('RMS scaling is not supported');
      return new LayerNormalization({
        ...base,
        axis: axis as number,
        epsilon: number(config, 'epsilon', configPath, 1e-3),
        center: boolean(config, 'center', configPath, true),
        scale: boolean(config, 'scale', configPath, true),
        ...defined({
          betaRegularizer: regularizer(config, 'beta_regularizer', configPath),
          gammaRegularizer: regularizer(config, 'gamma_regularizer', configPath),
          betaConstraint: constraint(config, 'beta_constraint', configPath),
          gammaConstraint: constraint(config, 'gamma_constraint', configPath),
        }),
      });
    }
    case 'RepeatVector': {
      const n = number(config, 'n', configPath);
      if (!Number.isInteger(n) || n < 1 || n > 1 << 24)
        throw configPath.child('n').error(`expected a positive integer, got ${n}`);
      return new RepeatVector({ ...base, n });
    }
    case 'Flatten': {
      const format = field(config, 'data_format') ?? 'channels_last';
      if (format !== 'channels_last')
        throw configPath
          .child('data_format')
          .error(`only channels_last is supported, got ${JSON.stringify(format)}`);
      return new Flatten(base);
    }
    case 'Masking':
      return new Masking({ ...base, maskValue: number(config, 'mask_value', configPath, 0) });
    case 'Dropout':
      return new Dropout({ ...base, rate: number(config, 'rate', configPath) });
    case 'Bidirectional': {
      const mode = field(config, 'merge_mode') ?? 'concat';
      if (typeof mode !== 'string' || !['concat', 'sum', 'mul', 'ave'].includes(mode)) {
        throw configPath
          .child('merge_mode')
          .error(`expected concat, sum, mul or ave, got ${JSON.stringify(mode)}`);
      }
      const inner = field(config, 'layer') as LayerJson | undefined;
      if (inner?.class_name !== 'GRU')
        throw configPath.child('layer').error('only a wrapped GRU is supported');
      const gru = gruFromJson(inner.config, configPath.child('layer').child('config'));
      if (gru.stateful)
        throw configPath
          .child('layer')
          .child('config')
          .child('stateful')
          .error('a stateful GRU inside Bidirectional is not supported');
      return new Bidirectional({ ...base, layer: gru, mergeMode: mode as MergeMode });
    }
    default:
      throw path
        .child('class_name')
        .error(
          `unsupported layer class '${className}' (supported: GRU, Dense, Activation, Embedding, GlobalAveragePooling1D, GlobalMaxPooling1D, LayerNormalization, RepeatVector, Flatten, Masking, Dropout, Bidirectional, TimeDistributed(Dense))`,
        );
  }
}

export { Path };
