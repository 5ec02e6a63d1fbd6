/**
 * Training checkpoints (Node): the weights (TensorFlow.js layers format), the
 * optimizer's state tensors and step count, the random generators'
 * positions, the epoch and the history. Each checkpoint is a complete
 * directory `ckpt-NNNNNN/`; `latest.json` names the newest and is replaced
 * atomically only once that directory is fully written, so a crash at any
 * moment leaves the previous checkpoint usable.
 */
import type { Sequential } from '../model/sequential.js';
import type { History } from '../model/training.js';
import { applyTrainingState } from '../model/training-state.js';
import type { OptimizerState } from '../optimizers/optimizer.js';
import { modelToArtifacts } from './artifacts.js';
import { bytesToFloat32, float32ToBytes } from './bytes.js';
import { writeAtomically } from './files.js';

export interface CheckpointArgs {
  /** The checkpoint directory. */
  path: string;
  /** Write one every this many epochs (and after the last); default 1. */
  everyEpochs?: number;
  /** Start from the newest checkpoint in `path`, if there is one. */
  resume?: boolean;
}

interface StateJson {
  version: 1;
  /** Epochs completed: the next epoch to run. */
  epoch: number;
  shufflePosition: number;
  layerRandom: number[][];
  optimizer: Omit<OptimizerState, 'slots'> & { slots: { name: string; lengths: number[] }[] };
  history: History;
}

export interface Checkpoint {
  epoch: number;
  shufflePosition: number;
  history: History;
}

export async function writeCheckpoint(
  model: Sequential,
  path: string,
  progress: Checkpoint,
): Promise<string> {
  const { mkdir, readdir, rm } = await import('node:fs/promises');
  const { join } = await import('node:path');
  const name = `ckpt-${String(progress.epoch).padStart(6, '0')}`;
  const dir = join(path, name);
  await mkdir(dir, { recursive: true });
  const { json, weightData } = modelToArtifacts(model);
  const optimizer = model.optimizer.exportState();
  const state: StateJson = {
    version: 1,
    epoch: progress.epoch,
    shufflePosition: progress.shufflePosition,
    layerRandom: model.layers.map((l) => l.randomPositions()),
    optimizer: {
      ...optimizer,
      slots: optimizer.slots.map((s) => ({ name: s.name, lengths: s.values.map((v) => v.length) })),
    },
    history: progress.history,
  };
  await writeAtomically(join(dir, 'weights.bin'), weightData);
  await writeAtomically(join(dir, 'model.json'), JSON.stringify(json));
  await writeAtomically(join(dir, 'optimizer.bin'), float32ToBytes(optimizer.slots.flatMap((s) => s.values)));
  await writeAtomically(join(dir, 'state.json'), JSON.stringify(state));
  await writeAtomically(join(path, 'latest.json'), JSON.stringify({ checkpoint: name }));
  for (const entry of await readdir(path)) {
    if (entry.startsWith('ckpt-') && entry !== name)
      await rm(join(path, entry), { recursive: true, force: true });
  }
  return dir;
}

/** Restores the newest checkpoint in `path` into `model`; undefined when there is none. */
export async function restoreCheckpoint(model: Sequential, path: string): Promise<Checkpoint | undefined> {
  const { readFile } = await import('node:fs/promises');
  const { join } = await import('node:path');
  let latest: string;
  try {
    latest = await readFile(join(path, 'latest.json'), 'utf8');
  } catch {
    return undefined;
  }
  const name = (JSON.parse(latest) as { checkpoint?: unknown }).checkpoint;
  if (typeof name !== 'string' || !/^ckpt-\d{6}$/.test(name))
    throw new Error(`${path}/latest.json: no valid checkpoint name`);
  const dir = join(path, name);
  const state = JSON.parse(await readFile(join(dir, 'state.json'), 'utf8')) as StateJson;
  if (state.version !== 1) throw new Error(`${dir}/state.json: unknown version ${state.version}`);
  const weightBytes = await readFile(join(dir, 'weights.bin'));
  const weights = model.layers.flatMap((l) => l.weights());
  const floats = readFloats(weightBytes, `${dir}/weights.bin`);
  const total = weights.reduce((n, w) => n + w.shape.reduce((a, b) => a * b, 1), 0);
  if (floats.length !== total)
    throw new Error(`${dir}/weights.bin: ${floats.length} floats, the model has ${total}`);
  let offset = 0;
  const weightValues = weights.map((w) => {
    const n = w.shape.reduce((a, b) => a * b, 1);
    offset += n;
    return floats.subarray(offset - n, offset);
  });
  const optimizerBytes = await readFile(join(dir, 'optimizer.bin'));
  const optimizerFloats = readFloats(optimizerBytes, `${dir}/optimizer.bin`);
  let position = 0;
  const slots = state.optimizer.slots.map((s) => ({
    name: s.name,
    values: s.lengths.map((length) => {
      position += length;
      if (position > optimizerFloats.length) throw new Error(`${dir}/optimizer.bin: truncated`);
      return optimizerFloats.slice(position - length, position);
    }),
  }));
  applyTrainingState(model, {
    weights: weightValues,
    optimizer: { ...state.optimizer, slots },
    layerRandom: state.layerRandom,
  });
  return { epoch: state.epoch, shufflePosition: state.shufflePosition, history: state.history };
}

function readFloats(bytes: Uint8Array, file: string): Float32Array {
  if (bytes.length % 4 !== 0)
    throw new Error(`${file}: ${bytes.length} bytes is not a whole number of floats`);
  return bytesToFloat32(bytes, 0, bytes.length / 4);
}
