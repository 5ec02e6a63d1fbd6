/**
 * Importing PyTorch nn.GRU (+ nn.Linear) weights from safetensors bytes
 * built here, checked against a float64 implementation of PyTorch's own
 * documented equations, written in PyTorch's layout (gates r, z, n):
 *
 *   r = σ(W_ir x + b_ir + W_hr h + b_hr)
 *   z = σ(W_iz x + b_iz + W_hz h + b_hz)
 *   n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))
 *   h' = (1 − z) ⊙ n + z ⊙ h
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as gw from '../ts/index.js';
import { expectClose } from './support/compare.js';
import { randomUniform } from './support/random.js';

const [B, T, I, H, O] = [3, 6, 4, 5, 2];

beforeAll(async () => {
  await gw.ready();
});

type Dict = Map<string, gw.SafeTensor>;

function torchGruLayer(dict: Dict, prefix: string, suffix: string, input: number, seed: number): void {
  const t = (shape: number[], s: number) => ({
    shape,
    values: randomUniform(
      s,
      shape.reduce((a, b) => a * b, 1),
      -0.5,
      0.5,
    ),
  });
  dict.set(`${prefix}weight_ih_${suffix}`, t([3 * H, input], seed));
  dict.set(`${prefix}weight_hh_${suffix}`, t([3 * H, H], seed + 1));
  dict.set(`${prefix}bias_ih_${suffix}`, t([3 * H], seed + 2));
  dict.set(`${prefix}bias_hh_${suffix}`, t([3 * H], seed + 3));
}

/** One direction of one layer over sequence `xs` (T × in), in float64; states in input order. */
function torchDirection(
  dict: Dict,
  prefix: string,
  suffix: string,
  xs: number[][],
  reverse: boolean,
): number[][] {
  const get = (name: string) => dict.get(`${prefix}${name}_${suffix}`) as gw.SafeTensor;
  const [wIh, wHh, bIh, bHh] = [get('weight_ih'), get('weight_hh'), get('bias_ih'), get('bias_hh')];
  const input = wIh.shape[1] as number;
  const row = (w: gw.SafeTensor, r: number, v: number[], cols: number) =>
    v.reduce((s, x, c) => s + (w.values[r * cols + c] as number) * x, 0);
  const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));
  let h = new Array(H).fill(0);
  const out: number[][] = new Array(xs.length);
  const order = reverse ? [...xs.keys()].reverse() : [...xs.keys()];
  for (const t of order) {
    const x = xs[t] as number[];
    const gate = (g: number, j: number) => [
      row(wIh, g * H + j, x, input) + (bIh.values[g * H + j] as number),
      row(wHh, g * H + j, h, H) + (bHh.values[g * H + j] as number),
    ];
    h = h.map((hj, j) => {
      const [ir, hr] = gate(0, j) as [number, number];
      const [iz, hz] = gate(1, j) as [number, number];
      const [inn, hn] = gate(2, j) as [number, number];
      const r = sigmoid(ir + hr);
      const z = sigmoid(iz + hz);
      const n = Math.tanh(inn + r * hn);
      return (1 - z) * n + z * hj;
    });
    out[t] = h;
  }
  return out;
}

describe('PyTorch import', () => {
  for (const [layersCount, bidirectional] of [
    [1, false],
    [2, false],
    [2, true],
  ] as const) {
    it(`${layersCount} layer(s), bidirectional ${bidirectional}, with nn.Linear`, async () => {
      const dict: Dict = new Map();
      const directions = bidirectional ? ['', '_reverse'] : [''];
      for (let l = 0; l < layersCount; l++) {
        const input = l === 0 ? I : H * directions.length;
        directions.forEach((d, k) => {
          torchGruLayer(dict, 'gru.', `l${l}${d}`, input, 100 * l + 10 * k);
        });
      }
      const features = H * directions.length;
      dict.set('fc.weight', { shape: [O, features], values: randomUniform(7, O * features, -1, 1) });
      dict.set('fc.bias', { shape: [O], values: randomUniform(8, O, -1, 1) });
      const bytes = gw.writeSafetensors(dict);
      const model = gw.importPyTorchGru(bytes, { steps: T, gruPrefix: 'gru.', linearPrefix: 'fc.' });

      const x = randomUniform(9, B * T * I);
      const gx = gw.tensor(x, [B, T, I]);
      const p = await model.predict(gx);
      const ours = await p.data();
      const expected: number[] = [];
      for (let b = 0; b < B; b++) {
        let seq = Array.from({ length: T }, (_, t) =>
          Array.from(x.subarray((b * T + t) * I, (b * T + t + 1) * I)),
        );
        let finalState: number[] = [];
        for (let l = 0; l < layersCount; l++) {
          const outs = directions.map((d) =>
            torchDirection(dict, 'gru.', `l${l}${d}`, seq, d === '_reverse'),
          );
          seq = seq.map((_, t) => outs.flatMap((o) => o[t] as number[]));
          // Final states: forward after the last step, backward after the first.
          finalState = outs.flatMap((o, k) => (k === 0 ? (o[T - 1] as number[]) : (o[0] as number[])));
        }
        const w = dict.get('fc.weight') as gw.SafeTensor;
        const bias = dict.get('fc.bias') as gw.SafeTensor;
        for (let o = 0; o < O; o++) {
          expected.push(
            finalState.reduce(
              (s, v, j) => s + v * (w.values[o * features + j] as number),
              bias.values[o] as number,
            ),
          );
        }
      }
      expectClose('predictions', ours, expected, 2e-5);
      p.dispose();
      gx.dispose();
      model.dispose();
    });
  }

  it('refuses bad files clearly', () => {
    expect(() => gw.importPyTorchGru(new Uint8Array(4), { steps: 2 })).toThrow(
      'too short for a safetensors header',
    );
    const wrong = gw.writeSafetensors(
      new Map([['lstm.weight_ih_l0', { shape: [4, 2], values: new Float32Array(8) }]]),
    );
    expect(() => gw.importPyTorchGru(wrong, { steps: 2, gruPrefix: 'gru.' })).toThrow(
      "no 'gru.weight_ih_l0'",
    );
    const good = gw.writeSafetensors(
      new Map([['weight_ih_l0', { shape: [3 * H, I], values: new Float32Array(3 * H * I) }]]),
    );
    expect(() => gw.readSafetensors(good.subarray(0, good.length - 4), 'cut.safetensors')).toThrow(
      "cut.safetensors: tensor 'weight_ih_l0': data_offsets",
    );
  });
});
