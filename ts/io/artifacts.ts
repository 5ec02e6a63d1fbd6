/**
 * A Sequential model as TensorFlow.js layers-format artifacts: `model.json`
 * (topology + weights manifest) and float32 little-endian weight data.
 */
import { kernel as loadedKernel } from '../backend.js';
import type { Layer } from '../layers/layer.js';
import { Sequential } from '../model/sequential.js';
import { type SampleShape, sizeOf } from '../tensor.js';
import { bytesToFloat32, float32ToBytes } from './bytes.js';
import {
  declaredBatchSize,
  declaredInputShape,
  type LayerJson,
  layerFromJson,
  layerToJson,
  Path,
} from './topology.js';

export interface WeightSpec {
  name: string;
  shape: number[];
  dtype: 'float32';
}

export interface ModelJson {
  modelTopology: {
    class_name: 'Sequential';
    config: { name: string; layers: LayerJson[] };
    keras_version: string;
    backend: string;
  };
  format: 'layers-model';
  generatedBy: string;
  convertedBy: null;
  weightsManifest: { paths: string[]; weights: WeightSpec[] }[];
}

export const GENERATED_BY = 'gru-wasm 0.1.0';

/** `model.json` and the one weights file it names. */
export function modelToArtifacts(
  model: Sequential,
  weightsPath = 'weights.bin',
): { json: ModelJson; weightData: Uint8Array } {
  const layers = model.layers.map((layer, i) =>
    i === 0 ? layerToJson(layer, model.inputShape, model.batchSize) : layerToJson(layer),
  );
  const weights = model.layers.flatMap((l) => l.weights());
  return {
    json: {
      modelTopology: {
        class_name: 'Sequential',
        config: { name: 'sequential', layers },
        keras_version: 'tfjs-layers 4.22.0',
        backend: 'tensor_flow.js',
      },
      format: 'layers-model',
      generatedBy: GENERATED_BY,
      convertedBy: null,
      weightsManifest: [
        {
          paths: [weightsPath],
          weights: weights.map((w) => ({ name: w.name, shape: [...w.shape], dtype: 'float32' })),
        },
      ],
    },
    weightData: float32ToBytes(model.snapshotWeights()),
  };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The weight specs and shard paths of a manifest, checked. */
export function readManifest(json: unknown, file: string): { specs: WeightSpec[]; paths: string[] } {
  const root = new Path(file, 'model.json');
  if (!isObject(json)) throw root.error('expected a JSON object');
  const manifest = json.weightsManifest;
  if (!Array.isArray(manifest)) throw root.child('weightsManifest').error('missing or not an array');
  const specs: WeightSpec[] = [];
  const paths: string[] = [];
  manifest.forEach((group, g) => {
    const at = root.child('weightsManifest').child(g);
    if (!isObject(group) || !Array.isArray(group.paths) || !Array.isArray(group.weights)) {
      throw at.error('expected { paths: [...], weights: [...] }');
    }
    for (const [i, p] of group.paths.entries()) {
      if (typeof p !== 'string' || p.length === 0 || p.includes('..') || p.startsWith('/')) {
        throw at
          .child('paths')
          .child(i)
          .error(`not a relative file name: ${JSON.stringify(p)}`);
      }
      paths.push(p);
    }
    for (const [i, w] of group.weights.entries()) {
      const wAt = at.child('weights').child(i);
      if (!isObject(w) || typeof w.name !== 'string' || !Array.isArray(w.shape))
        throw wAt.error('expected { name, shape, dtype }');
      if (w.dtype !== 'float32')
        throw wAt.child('dtype').error(`unsupported dtype ${JSON.stringify(w.dtype)} (only float32)`);
      if (!w.shape.every((d) => Number.isInteger(d) && d >= 0 && d <= 2 ** 28)) {
        throw wAt.child('shape').error(`bad shape ${JSON.stringify(w.shape)}`);
      }
      if (Object.hasOwn(w, 'quantization')) throw wAt.error('quantized weights are not supported');
      specs.push({ name: w.name, shape: w.shape as number[], dtype: 'float32' });
    }
  });
  return { specs, paths };
}

/** Declared weight bytes; refuses absurd totals before anything is allocated. */
export function declaredBytes(specs: readonly WeightSpec[], file: string): number {
  const bytes = specs.reduce((n, s) => n + 4 * sizeOf(s.shape), 0);
  if (bytes > 2 ** 30)
    throw new Error(`${file}: the manifest declares ${bytes} bytes of weights, more than the 1 GiB limit`);
  return bytes;
}

/**
 * Builds the model a `model.json` describes and loads its weight data.
 * Every failure is an Error whose message starts with `file`.
 */
export function modelFromArtifacts(json: unknown, weightData: Uint8Array, file: string): Sequential {
  try {
    return buildFromArtifacts(json, weightData, file);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (message.startsWith(file)) throw error;
    throw new Error(`${file}: ${message}`, { cause: error });
  }
}

function buildFromArtifacts(json: unknown, weightData: Uint8Array, file: string): Sequential {
  const { specs } = readManifest(json, file);
  const expected = declaredBytes(specs, file);
  if (weightData.length !== expected) {
    throw new Error(
      `${file}: the weight files hold ${weightData.length} bytes but the manifest's shapes need ${expected}${weightData.length < expected ? ' (truncated?)' : ''}`,
    );
  }
  const root = new Path(file, 'model.json');
  const topology = (json as Record<string, unknown>).modelTopology;
  if (!isObject(topology)) throw root.child('modelTopology').error('missing');
  // Converted Keras models nest the model under model_config.
  const modelJson = isObject(topology.model_config) ? topology.model_config : topology;
  const at = root.child('modelTopology');
  if (modelJson.class_name !== 'Sequential') {
    throw at
      .child('class_name')
      .error(`only Sequential models are supported, got ${JSON.stringify(modelJson.class_name)}`);
  }
  const config = modelJson.config;
  const layerList = Array.isArray(config) ? config : isObject(config) ? config.layers : undefined;
  if (!Array.isArray(layerList) || layerList.length === 0)
    throw at.child('config').child('layers').error('missing or empty');

  const parsed: Layer[] = [];
  let pendingInput: { sample: SampleShape; batch: number | null } | undefined;
  layerList.forEach((entry, i) => {
    const path = at.child('config').child('layers').child(i);
    if (isObject(entry) && entry.class_name === 'InputLayer') {
      const c = entry.config;
      const sample = isObject(c) ? declaredInputShape(c, path.child('config')) : undefined;
      if (!isObject(c) || !sample) throw path.error('InputLayer without batch_input_shape');
      pendingInput = { sample, batch: declaredBatchSize(c, path.child('config')) ?? null };
      return;
    }
    let layer: Layer = layerFromJson(entry, path);
    if (pendingInput && parsed.length === 0 && !layer.inputShape) {
      layer = layerFromJson(
        {
          ...(entry as LayerJson),
          config: {
            ...(entry as LayerJson).config,
            batch_input_shape: [pendingInput.batch, ...pendingInput.sample],
          },
        },
        path,
      );
    }
    parsed.push(layer);
  });
  // The weights the topology implies, counted before anything is allocated.
  const first = parsed[0];
  if (!first?.inputShape) {
    throw at.child('config').child('layers').child(0).error('the first layer declares no batch_input_shape');
  }
  let shape = first.inputShape;
  let implied = 0;
  for (const [i, layer] of parsed.entries()) {
    try {
      implied += layer.paramCountFor(shape);
      shape = layer.computeOutputShape(shape);
    } catch (error) {
      throw at
        .child('config')
        .child('layers')
        .child(i)
        .error((error as Error).message);
    }
  }
  const declared = specs.reduce((n, s) => n + sizeOf(s.shape), 0);
  if (implied !== declared) {
    throw new Error(`${file}: the topology implies ${implied} weights but the manifest declares ${declared}`);
  }

  const model = new Sequential(loadedKernel());
  try {
    for (const layer of parsed) model.addLayer(layer, false);
    const weights = model.layers.flatMap((l) => l.weights());
    if (weights.length !== specs.length) {
      throw new Error(
        `${file}: the topology has ${weights.length} weights but the manifest lists ${specs.length}`,
      );
    }
    let offset = 0;
    const values = weights.map((w, i) => {
      const spec = specs[i] as WeightSpec;
      if (spec.shape.length !== w.shape.length || spec.shape.some((d, j) => d !== w.shape[j])) {
        throw new Error(
          `${file}: weight ${i} (${spec.name}) has shape [${spec.shape.join(', ')}] but ${w.name} needs [${w.shape.join(', ')}]`,
        );
      }
      const array = bytesToFloat32(weightData, offset, sizeOf(spec.shape));
      offset += 4 * array.length;
      const bad = array.findIndex((v) => !Number.isFinite(v));
      if (bad >= 0) throw new Error(`${file}: weight ${spec.name} holds ${array[bad]} at index ${bad}`);
      return array;
    });
    model.setWeights(values);
    return model;
  } catch (error) {
    model.dispose();
    throw error;
  }
}
