/**
 * Models over HTTP(S), as TensorFlow.js exchanges them: loading fetches
 * `model.json` and the weight files its manifest names (relative to it);
 * saving POSTs a multipart form with the fields `model.json` and
 * `model.weights.bin`, which is what `tf.io.http` sends, so servers written
 * for TensorFlow.js accept it.
 */
import type { Sequential } from '../model/sequential.js';
import { declaredBytes, modelFromArtifacts, modelToArtifacts, readManifest } from './artifacts.js';

const WEIGHTS_FIELD = 'model.weights.bin';

async function fetchOk(target: URL, init?: RequestInit): Promise<Response> {
  const response = await fetch(target, init);
  if (!response.ok) throw new Error(`${target.href}: HTTP ${response.status} ${response.statusText}`);
  return response;
}

/** Fetches `model.json` at `url` and the weight files its manifest names. */
export async function loadOverHttp(url: string): Promise<Sequential> {
  const modelUrl = new URL(url);
  const text = await (await fetchOk(modelUrl)).text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new Error(`${modelUrl.href}: not valid JSON (${(cause as Error).message})`, { cause });
  }
  const { specs, paths } = readManifest(json, modelUrl.href);
  const expected = declaredBytes(specs, modelUrl.href);
  const data = new Uint8Array(expected);
  let offset = 0;
  for (const p of paths) {
    const shard = new Uint8Array(await (await fetchOk(new URL(p, modelUrl))).arrayBuffer());
    if (offset + shard.length > expected) {
      throw new Error(`${modelUrl.href}: weight file ${p} makes more than the ${expected} bytes declared`);
    }
    data.set(shard, offset);
    offset += shard.length;
  }
  return modelFromArtifacts(json, data.subarray(0, offset), modelUrl.href);
}

/** POSTs the model to `url` as a multipart form; rejects unless the server answers 2xx. */
export async function saveOverHttp(
  model: Sequential,
  url: string,
): Promise<{ modelJson: string; bytes: number }> {
  const { json, weightData } = modelToArtifacts(model, `./${WEIGHTS_FIELD}`);
  const body = new FormData();
  body.append('model.json', new Blob([JSON.stringify(json)], { type: 'application/json' }), 'model.json');
  body.append(
    WEIGHTS_FIELD,
    new Blob([weightData as Uint8Array<ArrayBuffer>], { type: 'application/octet-stream' }),
    WEIGHTS_FIELD,
  );
  await fetchOk(new URL(url), { method: 'POST', body });
  return { modelJson: url, bytes: weightData.length };
}
