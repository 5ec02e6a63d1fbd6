/**
 * `model.save(destination)` and `loadModel(source)`, routed by scheme as
 * TensorFlow.js names them: a path or `file://` (Node), `http(s)://`,
 * `indexeddb://` and `downloads://` (browsers; downloads can only be saved).
 */
import type { Sequential } from '../model/sequential.js';

export interface SaveResult {
  /** Where `model.json` went: a path, a URL, or the name in the browser's storage. */
  modelJson: string;
  /** Bytes of weights written. */
  bytes: number;
}

const SCHEME = /^([a-z][a-z0-9+.-]*):\/\/(.*)$/i;

function route(target: string): { scheme: string; rest: string } {
  const match = SCHEME.exec(target);
  return match
    ? { scheme: (match[1] as string).toLowerCase(), rest: match[2] as string }
    : { scheme: '', rest: target };
}

function unsupported(scheme: string, op: string): Error {
  return new Error(
    `${op}: '${scheme}://' is not a model location gru-wasm knows (paths, file://, http(s)://, indexeddb://, downloads://)`,
  );
}

export async function saveModel(model: Sequential, destination: string): Promise<SaveResult> {
  const { scheme, rest } = route(destination);
  switch (scheme) {
    case '':
    case 'file':
      return (await import('./files.js')).saveModelFiles(model, destination);
    case 'http':
    case 'https':
      return (await import('./http.js')).saveOverHttp(model, destination);
    case 'indexeddb':
      return (await import('./browser.js')).saveToIndexedDb(model, rest);
    case 'downloads':
      return (await import('./browser.js')).saveToDownloads(model, rest);
    default:
      throw unsupported(scheme, 'save');
  }
}

/**
 * Loads a model saved in the TensorFlow.js layers format (by gru-wasm,
 * TensorFlow.js, or Keras through tensorflowjs_converter).
 */
export async function loadModel(source: string): Promise<Sequential> {
  const { scheme, rest } = route(source);
  switch (scheme) {
    case '':
    case 'file':
      return (await import('./files.js')).loadModelFiles(source);
    case 'http':
    case 'https':
      return (await import('./http.js')).loadOverHttp(source);
    case 'indexeddb':
      return (await import('./browser.js')).loadFromIndexedDb(rest);
    case 'downloads':
      throw new Error(
        "loadModel: 'downloads://' is a place to save to; load the downloaded files by URL, or by path in Node",
      );
    default:
      throw unsupported(scheme, 'loadModel');
  }
}
