/**
 * Importing a PyTorch `nn.GRU` (and an optional `nn.Linear` after it) from a
 * safetensors state dict. PyTorch's GRU is Keras' `resetAfter: true` form
 * with its gates in the order (r, z, n) and weights transposed:
 *
 * ```text
 * weight_ih_l{k}[_reverse]  [3H, I]  →  kernel           [I, 3H]   (z | r | h)
 * weight_hh_l{k}[_reverse]  [3H, H]  →  recurrentKernel  [H, 3H]
 * bias_ih_l{k}, bias_hh_l{k}  [3H]   →  bias             [2, 3H]
 * Linear weight [O, H], bias [O]     →  dense kernel [H, O], bias [O]
 * ```
 *
 * Both write `h' = z⊙h + (1 − z)⊙n`. A bidirectional layer becomes
 * `bidirectional({ mergeMode: 'concat' })`; each layer but the last returns
 * sequences, as PyTorch feeds layer k's outputs to layer k + 1.
 */
import type { Activation } from '../kernel/types.js';
import * as layers from '../layers/index.js';
import { Sequential } from '../model/sequential.js';
import { readSafetensors, type SafeTensor } from './safetensors.js';

export interface PyTorchGruOptions {
  /** Time steps of the model's input; by default `null`, any length, as PyTorch's GRU takes. */
  steps?: number | null;
  /** State-dict prefix of the GRU, e.g. 'gru.' for `self.gru = nn.GRU(...)`. Default ''. */
  gruPrefix?: string;
  /** State-dict prefix of an `nn.Linear` applied to the last output, e.g. 'fc.'. */
  linearPrefix?: string;
  /** Activation after the linear layer (PyTorch applies it in `forward`). Default linear. */
  linearActivation?: Activation;
  /** Whether the last GRU layer returns every step. Default false: its final state. */
  returnSequences?: boolean;
}

/** `[3H, cols]` in PyTorch's (r, z, n) row order → `[cols, 3H]` in Keras' (z, r, h) column order. */
function gatesToKeras(w: SafeTensor, units: number): Float32Array {
  const cols = (w.shape[1] as number) ?? 1;
  const out = new Float32Array(cols * 3 * units);
  const kerasBlockOf = [1, 0, 2]; // r → 1, z → 0, n → 2
  for (let g = 0; g < 3; g++) {
    for (let j = 0; j < units; j++) {
      const row = g * units + j;
      const col = (kerasBlockOf[g] as number) * units + j;
      for (let c = 0; c < cols; c++) out[c * 3 * units + col] = w.values[row * cols + c] as number;
    }
  }
  return out;
}

function biasToKeras(b: SafeTensor, units: number): Float32Array {
  return gatesToKeras({ shape: [3 * units, 1], values: b.values }, units);
}

export function importPyTorchGru(
  bytes: Uint8Array,
  options: PyTorchGruOptions = {},
  file = 'state dict',
): Sequential {
  const tensors = readSafetensors(bytes, file);
  const prefix = options.gruPrefix ?? '';
  const get = (name: string): SafeTensor => {
    const t = tensors.get(name);
    if (!t) throw new Error(`${file}: no tensor '${name}' (have: ${[...tensors.keys()].join(', ')})`);
    return t;
  };
  const layerCount = [...tensors.keys()].filter((k) =>
    new RegExp(`^${escapeRegExp(prefix)}weight_ih_l\\d+$`).test(k),
  ).length;
  if (layerCount === 0)
    throw new Error(`${file}: no '${prefix}weight_ih_l0': not an nn.GRU state dict with prefix '${prefix}'`);
  const bidirectional = tensors.has(`${prefix}weight_ih_l0_reverse`);
  const values: Float32Array[] = [];
  const model = new Sequential();
  try {
    for (let l = 0; l < layerCount; l++) {
      const directions = bidirectional ? ['', '_reverse'] : [''];
      const first = get(`${prefix}weight_hh_l${l}`);
      const units = first.shape[1] as number;
      if (first.shape[0] !== 3 * units)
        throw new Error(`${file}: ${prefix}weight_hh_l${l} has shape [${first.shape}], expected [3H, H]`);
      for (const d of directions) {
        const wIh = get(`${prefix}weight_ih_l${l}${d}`);
        const wHh = get(`${prefix}weight_hh_l${l}${d}`);
        if (wIh.shape[0] !== 3 * units || wHh.shape[0] !== 3 * units || wHh.shape[1] !== units) {
          throw new Error(
            `${file}: layer ${l}${d}: weight shapes [${wIh.shape}] and [${wHh.shape}] do not fit H = ${units}`,
          );
        }
        const bIh = tensors.get(`${prefix}bias_ih_l${l}${d}`);
        const bHh = tensors.get(`${prefix}bias_hh_l${l}${d}`);
        const zeros = { shape: [3 * units], values: new Float32Array(3 * units) };
        values.push(gatesToKeras(wIh, units), gatesToKeras(wHh, units));
        values.push(
          new Float32Array([...biasToKeras(bIh ?? zeros, units), ...biasToKeras(bHh ?? zeros, units)]),
        );
      }
      const inputSize = get(`${prefix}weight_ih_l${l}`).shape[1] as number;
      const last = l === layerCount - 1;
      const inputShape = l === 0 ? { inputShape: [options.steps ?? null, inputSize] } : {};
      const returnSequences = last ? (options.returnSequences ?? false) : true;
      if (bidirectional) {
        const gru = layers.gru({ units, resetAfter: true, returnSequences });
        model.addLayer(layers.bidirectional({ layer: gru, mergeMode: 'concat', ...inputShape }), false);
      } else {
        model.addLayer(layers.gru({ units, resetAfter: true, returnSequences, ...inputShape }), false);
      }
    }
    if (options.linearPrefix !== undefined) {
      const w = get(`${options.linearPrefix}weight`);
      const [outputs, inputs] = w.shape as [number, number];
      const kernel = new Float32Array(inputs * outputs);
      for (let o = 0; o < outputs; o++)
        for (let i = 0; i < inputs; i++) kernel[i * outputs + o] = w.values[o * inputs + i] as number;
      const bias = tensors.get(`${options.linearPrefix}bias`);
      model.add(
        layers.dense({
          units: outputs,
          activation: options.linearActivation ?? 'linear',
          useBias: bias !== undefined,
        }),
      );
      values.push(kernel);
      if (bias) values.push(bias.values);
    }
    model.setWeights(values);
    return model;
  } catch (error) {
    model.dispose();
    throw error;
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
