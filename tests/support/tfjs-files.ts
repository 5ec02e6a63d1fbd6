/** Model files crossing between gru-wasm and TensorFlow.js in tests. */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';

/** Writes a TensorFlow.js model into `target` as `model.json` and `weights.bin`, the layout `loadModel` reads. */
export async function saveTfjsModel(model: tf.LayersModel, target: string): Promise<void> {
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      await mkdir(target, { recursive: true });
      const weightsManifest = [{ paths: ['weights.bin'], weights: artifacts.weightSpecs }];
      await writeFile(
        join(target, 'model.json'),
        JSON.stringify({ format: 'layers-model', modelTopology: artifacts.modelTopology, weightsManifest }),
      );
      await writeFile(join(target, 'weights.bin'), new Uint8Array(artifacts.weightData as ArrayBuffer));
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
}

/** Loads into TensorFlow.js the model gru-wasm saved in `source` (with its parsed `model.json`). */
export async function loadIntoTfjs(source: string): Promise<{ model: tf.LayersModel; json: ModelJson }> {
  const json = JSON.parse(await readFile(join(source, 'model.json'), 'utf8')) as ModelJson;
  const weightData = new Uint8Array(await readFile(join(source, 'weights.bin'))).buffer;
  const weightSpecs = json.weightsManifest[0]?.weights;
  const model = await tf.loadLayersModel(
    tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs, weightData }),
  );
  return { model, json };
}

interface ModelJson {
  modelTopology: { config: { layers: { class_name: string; config: Record<string, unknown> }[] } } & object;
  weightsManifest: { weights: tf.io.WeightsManifestEntry[] }[];
}
