/**
 * Saving and loading models as files in Node: `model.json` beside its
 * weights, each written to a temporary file, flushed and renamed, so a crash
 * mid-save leaves the previous files whole.
 */
import type { Sequential } from '../model/sequential.js';
import { declaredBytes, modelFromArtifacts, modelToArtifacts, readManifest } from './artifacts.js';

const WEIGHTS_FILE = 'weights.bin';

/** Fetches `model.json` and the weight files its manifest names, relative to it. */
async function loadOverHttp(url: string): Promise<Sequential> {
  const fetchOk = async (target: URL): Promise<Response> => {
    const response = await fetch(target);
    if (!response.ok) throw new Error(`${target.href}: HTTP ${response.status} ${response.statusText}`);
    return response;
  };
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

function localPath(destination: string): string {
  if (destination.startsWith('file://')) return decodeURIComponent(new URL(destination).pathname);
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(destination)?.[1];
  if (scheme) {
    throw new Error(
      `'${scheme}://' models are not supported yet; in Node, save to and load from a path or file:// URL`,
    );
  }
  return destination;
}

export async function writeAtomically(file: string, data: Uint8Array | string): Promise<void> {
  const { open, rename } = await import('node:fs/promises');
  const temporary = `${file}.tmp-${process.pid}-${Date.now()}`;
  const handle = await open(temporary, 'w');
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temporary, file);
}

/** Saves into a directory (created if needed): `model.json` and `weights.bin`. */
export async function saveModel(
  model: Sequential,
  destination: string,
): Promise<{ modelJson: string; bytes: number }> {
  const { mkdir } = await import('node:fs/promises');
  const { join } = await import('node:path');
  const dir = localPath(destination).replace(/\/model\.json$/, '');
  await mkdir(dir, { recursive: true });
  const { json, weightData } = modelToArtifacts(model, WEIGHTS_FILE);
  await writeAtomically(join(dir, WEIGHTS_FILE), weightData);
  const modelJson = join(dir, 'model.json');
  await writeAtomically(modelJson, `${JSON.stringify(json, null, 1)}\n`);
  return { modelJson, bytes: weightData.length };
}

/**
 * Loads a model from `model.json`: a path, a directory holding it, a file://
 * URL, or an http(s):// URL (fetched, with its weight files beside it).
 */
export async function loadModel(source: string): Promise<Sequential> {
  if (/^https?:\/\//i.test(source)) return loadOverHttp(source);
  const { readFile, stat } = await import('node:fs/promises');
  const { dirname, join } = await import('node:path');
  let file = localPath(source);
  if ((await stat(file)).isDirectory()) file = join(file, 'model.json');
  const text = await readFile(file, 'utf8');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new Error(`${file}: not valid JSON (${(cause as Error).message})`, { cause });
  }
  const { specs, paths } = readManifest(json, file);
  const expected = declaredBytes(specs, file);
  const shards: Uint8Array[] = [];
  let total = 0;
  for (const p of paths) {
    const shardFile = join(dirname(file), p);
    const size = (await stat(shardFile)).size;
    total += size;
    if (total > expected)
      throw new Error(`${file}: weight file ${p} makes ${total} bytes, more than the ${expected} declared`);
    shards.push(await readFile(shardFile));
  }
  const data = new Uint8Array(total);
  let offset = 0;
  for (const shard of shards) {
    data.set(shard, offset);
    offset += shard.length;
  }
  return modelFromArtifacts(json, data, file);
}
