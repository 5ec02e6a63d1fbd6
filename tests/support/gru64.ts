/**
 * A float64 GRU written straight from the equations (Keras conventions, gate
 * order z | r | h), the oracle for the kernel where TensorFlow.js has no
 * counterpart (resetAfter = true), and the function that finite differences
 * probe.
 */
import type { GruConfig, GruDims } from '../../ts/index.js';

export interface Gru64Weights {
  kernel: ArrayLike<number>;
  recurrentKernel: ArrayLike<number>;
  bias?: ArrayLike<number> | undefined;
}

const activations: Record<string, (x: number) => number> = {
  linear: (x) => x,
  sigmoid: (x) => 1 / (1 + Math.exp(-x)),
  hardSigmoid: (x) => Math.min(1, Math.max(0, 0.2 * x + 0.5)),
  tanh: Math.tanh,
  relu: (x) => Math.max(0, x),
};

function activation(name: string): (x: number) => number {
  const f = activations[name];
  if (!f) throw new Error(`no float64 activation ${name}`);
  return f;
}

/** Output `[B,T,H]` (returnSequences) or `[B,H]`, as a Float64Array. */
export function gru64(
  dims: GruDims,
  config: GruConfig,
  w: Gru64Weights,
  x: ArrayLike<number>,
  h0?: ArrayLike<number>,
): Float64Array {
  const { batch: B, steps: T, input: I, units: H } = dims;
  const H3 = 3 * H;
  const sigma = activation(config.recurrentActivation);
  const phi = activation(config.activation);
  const at = (a: ArrayLike<number> | undefined, i: number) => (a ? (a[i] as number) : 0);
  const out = new Float64Array(config.returnSequences ? B * T * H : B * H);
  for (let b = 0; b < B; b++) {
    let h = Float64Array.from({ length: H }, (_, j) => at(h0, b * H + j));
    for (let s = 0; s < T; s++) {
      const t = config.goBackwards ? T - 1 - s : s;
      const xw = (col: number) => {
        let sum = at(w.bias, col);
        for (let i = 0; i < I; i++) sum += at(x, (b * T + t) * I + i) * at(w.kernel, i * H3 + col);
        return sum;
      };
      const hu = (v: Float64Array, col: number) => {
        let sum = config.resetAfter ? at(w.bias, H3 + col) : 0;
        for (let k = 0; k < H; k++) sum += (v[k] as number) * at(w.recurrentKernel, k * H3 + col);
        return sum;
      };
      const z = Float64Array.from({ length: H }, (_, j) => sigma(xw(j) + hu(h, j)));
      const r = Float64Array.from({ length: H }, (_, j) => sigma(xw(H + j) + hu(h, H + j)));
      const rh = Float64Array.from({ length: H }, (_, k) => (r[k] as number) * (h[k] as number));
      const candidate = Float64Array.from({ length: H }, (_, j) =>
        config.resetAfter
          ? phi(xw(2 * H + j) + (r[j] as number) * hu(h, 2 * H + j))
          : phi(xw(2 * H + j) + hu(rh, 2 * H + j)),
      );
      const prev = h;
      h = Float64Array.from(
        { length: H },
        (_, j) => (z[j] as number) * (prev[j] as number) + (1 - (z[j] as number)) * (candidate[j] as number),
      );
      if (config.returnSequences) out.set(h, (b * T + s) * H);
    }
    if (!config.returnSequences) out.set(h, b * H);
  }
  return out;
}

/** Central differences of `f` with respect to every entry of `values`. */
export function numericGradient(values: Float64Array, f: () => number, step = 1e-6): Float64Array {
  const grad = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const keep = values[i] as number;
    values[i] = keep + step;
    const up = f();
    values[i] = keep - step;
    const down = f();
    values[i] = keep;
    grad[i] = (up - down) / (2 * step);
  }
  return grad;
}
