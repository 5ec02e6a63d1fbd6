/**
 * The pure-JavaScript baseline: the same GRU maths as the kernel (Keras
 * conventions, resetAfter = false, sigmoid gates, tanh candidate, last state
 * out), written as a careful typed-array implementation would be: flat
 * Float32Arrays, loops ordered for contiguous inner access, buffers allocated
 * once per call. The only maths in this repository written in JavaScript
 * outside tests.
 */

export interface BaselineDims {
  batch: number;
  steps: number;
  input: number;
  units: number;
}

export interface BaselineWeights {
  /** `[I, 3H]` */
  kernel: Float32Array;
  /** `[H, 3H]` */
  recurrentKernel: Float32Array;
  /** `[3H]` */
  bias: Float32Array;
}

export interface BaselineForward {
  /** `[B, H]`, the last state. */
  output: Float32Array;
  /** `[T + 1, B, H]` */
  states: Float32Array;
  /** `[T, B, 3H]`: z, r, h̃ per step. */
  gates: Float32Array;
}

export interface BaselineGrads {
  kernel: Float32Array;
  recurrentKernel: Float32Array;
  bias: Float32Array;
  x: Float32Array;
}

const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));

/** `x [B, T, I]` → last state `[B, H]`, keeping what backward needs. */
export function gruForward(d: BaselineDims, w: BaselineWeights, x: Float32Array): BaselineForward {
  const { batch: B, steps: T, input: I, units: H } = d;
  const H3 = 3 * H;
  const states = new Float32Array((T + 1) * B * H);
  const gates = new Float32Array(T * B * H3);
  const pre = new Float32Array(H3);
  const rh = new Float32Array(H);
  for (let t = 0; t < T; t++) {
    const prevBase = t * B * H;
    const nextBase = (t + 1) * B * H;
    for (let b = 0; b < B; b++) {
      const hp = prevBase + b * H;
      pre.set(w.bias);
      // x_t · W
      for (let i = 0; i < I; i++) {
        const xv = x[(b * T + t) * I + i] as number;
        const row = i * H3;
        for (let j = 0; j < H3; j++) pre[j] += xv * (w.kernel[row + j] as number);
      }
      // h · U_zr
      for (let k = 0; k < H; k++) {
        const hv = states[hp + k] as number;
        const row = k * H3;
        for (let j = 0; j < 2 * H; j++) pre[j] += hv * (w.recurrentKernel[row + j] as number);
      }
      const g = (t * B + b) * H3;
      for (let j = 0; j < 2 * H; j++) gates[g + j] = sigmoid(pre[j] as number);
      for (let k = 0; k < H; k++) rh[k] = (gates[g + H + k] as number) * (states[hp + k] as number);
      // (r⊙h) · U_h
      for (let k = 0; k < H; k++) {
        const v = rh[k] as number;
        const row = k * H3 + 2 * H;
        for (let j = 0; j < H; j++) pre[2 * H + j] += v * (w.recurrentKernel[row + j] as number);
      }
      for (let j = 0; j < H; j++) {
        const candidate = Math.tanh(pre[2 * H + j] as number);
        const z = gates[g + j] as number;
        gates[g + 2 * H + j] = candidate;
        states[nextBase + b * H + j] = z * (states[hp + j] as number) + (1 - z) * candidate;
      }
    }
  }
  return { output: states.slice(T * B * H), states, gates };
}

/** Backward through time from `dOutput [B, H]` on the last state. */
export function gruBackward(
  d: BaselineDims,
  w: BaselineWeights,
  x: Float32Array,
  fwd: BaselineForward,
  dOutput: Float32Array,
): BaselineGrads {
  const { batch: B, steps: T, input: I, units: H } = d;
  const H3 = 3 * H;
  const grads: BaselineGrads = {
    kernel: new Float32Array(I * H3),
    recurrentKernel: new Float32Array(H * H3),
    bias: new Float32Array(H3),
    x: new Float32Array(B * T * I),
  };
  let dh = Float32Array.from(dOutput);
  let dhPrev = new Float32Array(B * H);
  const da = new Float32Array(H3);
  const drh = new Float32Array(H);
  const rh = new Float32Array(H);
  for (let t = T - 1; t >= 0; t--) {
    dhPrev.fill(0);
    for (let b = 0; b < B; b++) {
      const hp = t * B * H + b * H;
      const g = (t * B + b) * H3;
      for (let j = 0; j < H; j++) {
        const z = fwd.gates[g + j] as number;
        const candidate = fwd.gates[g + 2 * H + j] as number;
        const dhj = dh[b * H + j] as number;
        da[j] = dhj * ((fwd.states[hp + j] as number) - candidate) * z * (1 - z);
        da[2 * H + j] = dhj * (1 - z) * (1 - candidate * candidate);
        dhPrev[b * H + j] = dhj * z;
      }
      // ∂(r⊙h) = ∂a_h · U_hᵀ, and ∂U_h += (r⊙h)ᵀ · ∂a_h
      for (let k = 0; k < H; k++) {
        const r = fwd.gates[g + H + k] as number;
        rh[k] = r * (fwd.states[hp + k] as number);
        const row = k * H3 + 2 * H;
        let sum = 0;
        for (let j = 0; j < H; j++) {
          sum += (da[2 * H + j] as number) * (w.recurrentKernel[row + j] as number);
          grads.recurrentKernel[row + j] += (rh[k] as number) * (da[2 * H + j] as number);
        }
        drh[k] = sum;
      }
      for (let k = 0; k < H; k++) {
        const r = fwd.gates[g + H + k] as number;
        da[H + k] = (drh[k] as number) * (fwd.states[hp + k] as number) * r * (1 - r);
        dhPrev[b * H + k] += (drh[k] as number) * r;
      }
      // ∂h += ∂a_zr · U_zrᵀ, ∂U_zr += hᵀ · ∂a_zr
      for (let k = 0; k < H; k++) {
        const hk = fwd.states[hp + k] as number;
        const row = k * H3;
        let sum = 0;
        for (let j = 0; j < 2 * H; j++) {
          sum += (da[j] as number) * (w.recurrentKernel[row + j] as number);
          grads.recurrentKernel[row + j] += hk * (da[j] as number);
        }
        dhPrev[b * H + k] += sum;
      }
      // ∂W += x_tᵀ · ∂a, ∂x_t = ∂a · Wᵀ, ∂b += ∂a
      for (let i = 0; i < I; i++) {
        const xi = (b * T + t) * I + i;
        const xv = x[xi] as number;
        const row = i * H3;
        let sum = 0;
        for (let j = 0; j < H3; j++) {
          grads.kernel[row + j] += xv * (da[j] as number);
          sum += (da[j] as number) * (w.kernel[row + j] as number);
        }
        grads.x[xi] = sum;
      }
      for (let j = 0; j < H3; j++) grads.bias[j] += da[j] as number;
    }
    [dh, dhPrev] = [dhPrev, dh];
  }
  return grads;
}
