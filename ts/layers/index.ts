/** Layer factories, named as in TensorFlow.js' `tf.layers`. */
import { ActivationLayer, type ActivationLayerArgs } from './activation.js';
import { Bidirectional, type BidirectionalLayerArgs } from './bidirectional.js';
import { Dense, type DenseLayerArgs } from './dense.js';
import { Dropout, type DropoutLayerArgs } from './dropout.js';
import { Embedding, type EmbeddingLayerArgs } from './embedding.js';
import { Gru, type GruLayerArgs } from './gru.js';
import type { LayerArgs } from './layer.js';
import { Masking, type MaskingLayerArgs } from './masking.js';
import { LayerNormalization, type LayerNormalizationLayerArgs } from './normalization.js';
import { GlobalPooling1D } from './pooling.js';
import { Flatten, RepeatVector, type RepeatVectorLayerArgs } from './reshape.js';

export function gru(args: GruLayerArgs): Gru {
  return new Gru(args);
}

export function activation(args: ActivationLayerArgs): ActivationLayer {
  return new ActivationLayer(args);
}

export function dense(args: DenseLayerArgs): Dense {
  return new Dense(args);
}

export { type Activation, Layer, type LayerArgs, type Weight } from './layer.js';
export function dropout(args: DropoutLayerArgs): Dropout {
  return new Dropout(args);
}

export function embedding(args: EmbeddingLayerArgs): Embedding {
  return new Embedding(args);
}

/** Each sequence's mean over its (unmasked) steps. */
export function globalAveragePooling1d(args: LayerArgs = {}): GlobalPooling1D {
  return new GlobalPooling1D(args, 'average');
}

/** Each sequence's maximum over its (unmasked) steps, per feature. */
export function globalMaxPooling1d(args: LayerArgs = {}): GlobalPooling1D {
  return new GlobalPooling1D(args, 'max');
}

export function masking(args?: MaskingLayerArgs): Masking {
  return new Masking(args);
}

export function bidirectional(args: BidirectionalLayerArgs): Bidirectional {
  return new Bidirectional(args);
}

/** Each step's (or sample's) features normalized to mean 0 and variance 1, then scaled and offset. */
export function layerNormalization(args: LayerNormalizationLayerArgs = {}): LayerNormalization {
  return new LayerNormalization(args);
}

/** A vector repeated at each of `n` steps: `[features]` → `[n, features]`. */
export function repeatVector(args: RepeatVectorLayerArgs): RepeatVector {
  return new RepeatVector(args);
}

/** A sample flattened to one vector: `[steps, features]` → `[steps · features]`. */
export function flatten(args: LayerArgs = {}): Flatten {
  return new Flatten(args);
}

export {
  ActivationLayer,
  type ActivationLayerArgs,
  Bidirectional,
  type BidirectionalLayerArgs,
  Dense,
  type DenseLayerArgs,
  Embedding,
  type EmbeddingLayerArgs,
  Flatten,
  GlobalPooling1D,
  Gru,
  type GruLayerArgs,
  LayerNormalization,
  type LayerNormalizationLayerArgs,
  Masking,
  type MaskingLayerArgs,
  RepeatVector,
  type RepeatVectorLayerArgs,
};
