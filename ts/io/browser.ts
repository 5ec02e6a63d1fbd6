/**
 * Models in the browser, under TensorFlow.js' names: `indexeddb://name`
 * keeps a model in the page's IndexedDB (the database, stores and records
 * TensorFlow.js uses, so either library reads what the other saved), and
 * `downloads://name` hands the user `name.json` and `name.weights.bin`.
 */
import type { Sequential } from '../model/sequential.js';
import { modelFromArtifacts, modelToArtifacts, type WeightSpec } from './artifacts.js';

const DATABASE = 'tensorflowjs';
const VERSION = 1;
const MODELS = 'models_store';
const INFO = 'model_info_store';

/** What TensorFlow.js stores per model, under `modelPath`. */
interface StoredArtifacts {
  modelTopology: unknown;
  weightSpecs: WeightSpec[];
  weightData: ArrayBuffer | ArrayBuffer[];
  format?: string;
  generatedBy?: string;
  convertedBy?: string | null;
}

function indexedDbOrThrow(): IDBFactory {
  if (typeof indexedDB === 'undefined') throw new Error('indexeddb:// needs a browser with IndexedDB');
  return indexedDB;
}

function openDatabase(): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const request = indexedDbOrThrow().open(DATABASE, VERSION);
    request.onupgradeneeded = () => {
      request.result.createObjectStore(MODELS, { keyPath: 'modelPath' });
      request.result.createObjectStore(INFO, { keyPath: 'modelPath' });
    };
    request.onsuccess = () => resolve(request.result);
    request.onerror = () =>
      reject(new Error(`indexeddb: cannot open '${DATABASE}': ${request.error?.message}`));
  });
}

/** Runs `body` in one transaction over both stores and waits for it to commit. */
async function transaction<T>(
  mode: IDBTransactionMode,
  body: (tx: IDBTransaction) => IDBRequest<T>,
): Promise<T> {
  const db = await openDatabase();
  try {
    return await new Promise<T>((resolve, reject) => {
      const tx = db.transaction([MODELS, INFO], mode);
      const request = body(tx);
      tx.oncomplete = () => resolve(request.result);
      tx.onerror = () => reject(tx.error ?? request.error);
      tx.onabort = () => reject(tx.error ?? new Error('transaction aborted'));
    });
  } finally {
    db.close();
  }
}

export async function saveToIndexedDb(
  model: Sequential,
  name: string,
): Promise<{ modelJson: string; bytes: number }> {
  const { json, weightData } = modelToArtifacts(model);
  const artifacts: StoredArtifacts = {
    modelTopology: json.modelTopology,
    weightSpecs: json.weightsManifest[0]?.weights ?? [],
    weightData: weightData.slice().buffer,
    format: json.format,
    generatedBy: json.generatedBy,
    convertedBy: json.convertedBy,
  };
  const topologyBytes = new TextEncoder().encode(JSON.stringify(json.modelTopology)).length;
  const info = {
    dateSaved: new Date(),
    modelTopologyType: 'JSON',
    modelTopologyBytes: topologyBytes,
    weightSpecsBytes: new TextEncoder().encode(JSON.stringify(artifacts.weightSpecs)).length,
    weightDataBytes: weightData.length,
  };
  // The model and its info in one transaction: both or neither.
  await transaction('readwrite', (tx) => {
    tx.objectStore(INFO).put({ modelPath: name, modelArtifactsInfo: info });
    return tx.objectStore(MODELS).put({ modelPath: name, modelArtifacts: artifacts });
  });
  return { modelJson: `indexeddb://${name}`, bytes: weightData.length };
}

export async function loadFromIndexedDb(name: string): Promise<Sequential> {
  const where = `indexeddb://${name}`;
  const record = (await transaction('readonly', (tx) => tx.objectStore(MODELS).get(name))) as
    | { modelArtifacts?: StoredArtifacts }
    | undefined;
  const stored = record?.modelArtifacts;
  if (!stored) throw new Error(`${where}: no model saved under this name`);
  const parts = Array.isArray(stored.weightData) ? stored.weightData : [stored.weightData];
  if (!parts.every((p) => p instanceof ArrayBuffer)) throw new Error(`${where}: weightData is not binary`);
  const weightData = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let offset = 0;
  for (const part of parts) {
    weightData.set(new Uint8Array(part), offset);
    offset += part.byteLength;
  }
  // The stored record is `model.json` with its manifest inlined; the loader checks every field.
  const json = {
    modelTopology: stored.modelTopology,
    format: stored.format,
    weightsManifest: [{ paths: ['weights.bin'], weights: stored.weightSpecs }],
  };
  return modelFromArtifacts(json, weightData, where);
}

/** Offers `name.json` and `name.weights.bin` as downloads. */
export async function saveToDownloads(
  model: Sequential,
  name: string,
): Promise<{ modelJson: string; bytes: number }> {
  if (typeof document === 'undefined') throw new Error('downloads:// needs a browser page (a document)');
  const prefix = name || 'model';
  const weightsFile = `${prefix}.weights.bin`;
  const { json, weightData } = modelToArtifacts(model, `./${weightsFile}`);
  const files: [string, Blob][] = [
    [`${prefix}.json`, new Blob([JSON.stringify(json)], { type: 'application/json' })],
    [weightsFile, new Blob([weightData as Uint8Array<ArrayBuffer>], { type: 'application/octet-stream' })],
  ];
  for (const [file, blob] of files) {
    const url = URL.createObjectURL(blob);
    const anchor = document.createElement('a');
    anchor.href = url;
    anchor.download = file;
    anchor.click();
    // Revoked once the browser has taken the download.
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
  }
  return { modelJson: `${prefix}.json`, bytes: weightData.length };
}
