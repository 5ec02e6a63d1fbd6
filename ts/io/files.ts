/**
 * Models as files in Node: `model.json` beside its weights, each written to
 * a temporary file, flushed and renamed, so a crash mid-save leaves the
 * previous files whole.
 */
import type { Sequential } from '../model/sequential.js';
import { declaredBytes, modelFromArtifacts, modelToArtifacts, readManifest } from './artifacts.js';

const WEIGHTS_FILE = 'weights.bin';

function localPath(destination: string): string {
  if (destination.startsWith('file://')) return decodeURIComponent(new URL(destination).pathname);
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
export async function saveModelFiles(
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

/** Loads `model.json` and its weight files: a path, a directory holding it, or a file:// URL. */
export async function loadModelFiles(source: string): Promise<Sequential> {
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
