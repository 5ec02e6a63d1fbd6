//! The GRU layer over a whole batch of sequences: forward and backward
//! through time, side by side.
//!
//! # Conventions (fixed once, here)
//! Dimension letters: `B` batch, `T` time steps, `I` input features, `H` units.
//! Gate order in every `3H` axis: **z (update), r (reset), h (candidate)**, the
//! Keras / TensorFlow.js layout. Weights: `kernel [I, 3H]`, `recurrent
//! [H, 3H]`, `bias [3H]` (`reset_after = false`) or `[2, 3H]` (`reset_after =
//! true`: row 0 the input bias, row 1 the recurrent bias).
//!
//! With σ the recurrent activation (sigmoid by default) and φ the activation
//! (tanh by default), one step from state `h` on input `x` is
//!
//! ```text
//! z  = σ(x·W_z + h·U_z + b_z)
//! r  = σ(x·W_r + h·U_r + b_r)
//! h̃  = φ(x·W_h + (r⊙h)·U_h + b_h)               reset_after = false
//! h̃  = φ(x·W_h + b_ih + r⊙(h·U_h + b_hh))        reset_after = true
//! h' = z⊙h + (1 − z)⊙h̃
//! ```
//!
//! `reset_after = false` is the equation of Cho et al. (2014), the seed text's
//! form and TensorFlow.js' only one; `reset_after = true` is Keras 2+'s default
//! and PyTorch's `nn.GRU`. The paper writes `h' = (1 − z)⊙h + z⊙h̃`: the same
//! model with the update gate's weights and bias negated. Here, as in Keras
//! and PyTorch, `z` means "keep the old state".
//!
//! With `go_backwards` the sequence is read from `t = T−1` down to 0 and the
//! outputs come in processing order (Keras' behaviour): output step `s` is the
//! state after reading input `T−1−s`.

use crate::cancel;
use crate::error::{expect_len, expect_positive, zeroed, KernelError, KernelResult};
use crate::gemm::{gemm, gemm_packed, GemmWorkspace, MatMut, MatRef, PackedB};
use crate::ops::activation::Activation;

mod split;
pub use split::{gru_exchange_len, gru_forward_part, Part, PartCall, Shared};

/// Sizes of one GRU call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GruShape {
    pub batch: usize,
    pub steps: usize,
    pub input: usize,
    pub units: usize,
}

/// The layer's options, with Keras' meaning.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GruOptions {
    pub reset_after: bool,
    pub go_backwards: bool,
    /// Output every step's state `[B, T, H]`, or only the last `[B, H]`.
    pub return_sequences: bool,
    /// φ, applied to the candidate state (Keras: `activation`, default tanh).
    pub activation: Activation,
    /// σ, applied to the gates (Keras: `recurrent_activation`, default sigmoid).
    pub recurrent_activation: Activation,
}

impl Default for GruOptions {
    fn default() -> Self {
        GruOptions {
            reset_after: false,
            go_backwards: false,
            return_sequences: false,
            activation: Activation::Tanh,
            recurrent_activation: Activation::Sigmoid,
        }
    }
}

/// The layer's weights.
#[derive(Clone, Copy, Debug)]
pub struct GruParams<'a> {
    /// `[I, 3H]`
    pub kernel: &'a [f32],
    /// `[H, 3H]`
    pub recurrent_kernel: &'a [f32],
    /// `[3H]`, or `[2, 3H]` with `reset_after`; `None` without bias.
    pub bias: Option<&'a [f32]>,
}

/// Gradients of a GRU, written (not accumulated).
pub struct GruGrads<'a> {
    /// `[I, 3H]`
    pub kernel: &'a mut [f32],
    /// `[H, 3H]`
    pub recurrent_kernel: &'a mut [f32],
    /// Same shape as the bias.
    pub bias: Option<&'a mut [f32]>,
    /// `[B, T, I]`, when the input needs a gradient.
    pub x: Option<&'a mut [f32]>,
    /// `[B, H]`, when the initial state needs a gradient.
    pub initial_state: Option<&'a mut [f32]>,
}

/// Floats of the cache a training forward fills for backward:
/// states `[T + 1, B, H]` then gates `[T, B, 4H]` (z, r, h̃, and `r⊙h` or
/// `h·U_h + b_hh`), both in processing order.
pub fn gru_cache_len(shape: GruShape) -> Option<usize> {
    let GruShape { batch, steps, units, .. } = shape;
    let states = steps.checked_add(1)?.checked_mul(batch)?.checked_mul(units)?;
    let gates = steps.checked_mul(batch)?.checked_mul(units)?.checked_mul(4)?;
    states.checked_add(gates)
}

impl GruShape {
    fn validate(&self, op: &'static str, options: &GruOptions, params: &GruParams) -> KernelResult<usize> {
        let GruShape { batch, steps, input, units } = *self;
        expect_positive(op, "batch", batch)?;
        expect_positive(op, "steps", steps)?;
        expect_positive(op, "input", input)?;
        expect_positive(op, "units", units)?;
        for (name, act) in [("activation", options.activation), ("recurrentActivation", options.recurrent_activation)] {
            if !act.is_elementwise() {
                return Err(KernelError::new(op, format!("`{name}` cannot be softmax in a GRU")));
            }
        }
        expect_len(op, "kernel", params.kernel.len(), &[input, 3 * units])?;
        expect_len(op, "recurrentKernel", params.recurrent_kernel.len(), &[units, 3 * units])?;
        if let Some(bias) = params.bias {
            expect_len(op, "bias", bias.len(), &self.bias_shape(options))?;
        }
        gru_cache_len(*self).ok_or_else(|| KernelError::new(op, "the cache size overflows"))
    }

    fn bias_shape(&self, options: &GruOptions) -> Vec<usize> {
        if options.reset_after {
            vec![2, 3 * self.units]
        } else {
            vec![3 * self.units]
        }
    }

    fn output_shape(&self, options: &GruOptions) -> Vec<usize> {
        if options.return_sequences {
            vec![self.batch, self.steps, self.units]
        } else {
            vec![self.batch, self.units]
        }
    }

    /// The input time step read at processing step `s`.
    fn input_step(&self, options: &GruOptions, s: usize) -> usize {
        if options.go_backwards {
            self.steps - 1 - s
        } else {
            s
        }
    }
}

/// Forward over all `T` steps of all `B` sequences.
///
/// # Parameters
/// - `x`: `[B, T, I]`
/// - `initial_state`: `[B, H]`, or `None` for zeros
/// - `mask`: `[B, T]`, 0 where a step is padding (Keras masking): the state
///   carries over such steps unchanged, and so does the output; `None` when
///   every step is real
/// - `recurrent_mask`: `[B, H]`, recurrent dropout: the state entering the
///   recurrent products (all three gates) is `h⊙m`, the same `m` at every
///   step; the update `z⊙h + (1 − z)⊙h̃` keeps the undropped `h`
/// - `output`: `[B, T, H]` with `return_sequences`, else `[B, H]`; written
/// - `cache`: [`gru_cache_len`] floats to keep for [`gru_backward`], or `None`
///   for inference
#[allow(clippy::too_many_arguments)]
pub fn gru_forward(
    shape: GruShape,
    options: &GruOptions,
    params: &GruParams,
    x: &[f32],
    initial_state: Option<&[f32]>,
    mask: Option<&[f32]>,
    recurrent_mask: Option<&[f32]>,
    output: &mut [f32],
    cache: Option<&mut [f32]>,
    ws: &mut GemmWorkspace,
) -> KernelResult<()> {
    const OP: &str = "gru_forward";
    let cache_len = shape.validate(OP, options, params)?;
    let GruShape { batch, steps, input, units } = shape;
    expect_len(OP, "x", x.len(), &[batch, steps, input])?;
    if let Some(h0) = initial_state {
        expect_len(OP, "initialState", h0.len(), &[batch, units])?;
    }
    if let Some(mask) = mask {
        expect_len(OP, "mask", mask.len(), &[batch, steps])?;
    }
    if let Some(m) = recurrent_mask {
        expect_len(OP, "recurrentMask", m.len(), &[batch, units])?;
    }
    expect_len(OP, "output", output.len(), &shape.output_shape(options))?;
    if let Some(cache) = &cache {
        if cache.len() != cache_len {
            return Err(KernelError::new(OP, format!("`cache` has {} floats, expected {cache_len}", cache.len())));
        }
    }

    let (h3, state_len) = (3 * units, batch * units);
    // The input projection x·W is computed for a chunk of steps at a
    // time: one efficient GEMM, and a buffer small next to the cache.
    let chunk = chunk_steps(shape);
    let mut x_chunk = zeroed(OP, "a chunk of inputs", chunk * batch * input)?;
    let mut xw = zeroed(OP, "the input projection", chunk * batch * h3)?;
    let training = cache.is_some();

    // States and gates live in the cache when training; inference keeps two
    // state buffers and one step of gates.
    let mut inference_buffers;
    let (states, gates): (&mut [f32], &mut [f32]) = match cache {
        Some(cache) => cache.split_at_mut((steps + 1) * state_len),
        None => {
            inference_buffers = zeroed(OP, "the states and gates", 2 * state_len + batch * 4 * units)?;
            inference_buffers.split_at_mut(2 * state_len)
        }
    };
    match initial_state {
        Some(h0) => states[..state_len].copy_from_slice(h0),
        None => states[..state_len].fill(0.0),
    }

    let recurrent = MatRef::row_major(params.recurrent_kernel, units, h3);
    let zeros = zeroed(OP, "zero biases", h3)?;
    let biases = StepBiases::new(params.bias, h3, options.reset_after, &zeros);
    let (first, candidate) = recurrent_blocks(recurrent, units, options.reset_after);
    let (packed_first, packed_candidate) = (PackedB::new(first), candidate.map(PackedB::new));
    let mut projection = zeroed(OP, "the recurrent projection", batch * h3)?;
    let mut dropped_state = zeroed(OP, "the dropped state", if recurrent_mask.is_some() { state_len } else { 0 })?;

    for s in 0..steps {
        cancel::check(OP)?;
        let t = shape.input_step(options, s);
        let local = s % chunk;
        if local == 0 {
            let rows = chunk.min(steps - s) * batch;
            gather_steps(shape, options, x, s, &mut x_chunk[..rows * input]);
            project(params, &x_chunk[..rows * input], &mut xw[..rows * h3], shape, ws);
        }
        let (h_prev, h_next, gates_s) = if !training {
            // Inference: ping-pong between the two state buffers.
            let (a, b) = states.split_at_mut(state_len);
            if s % 2 == 0 {
                (&*a, b, &mut *gates)
            } else {
                (&*b, a, &mut *gates)
            }
        } else {
            let (before, after) = states.split_at_mut((s + 1) * state_len);
            let gate_block = &mut gates[s * batch * 4 * units..(s + 1) * batch * 4 * units];
            (&before[s * state_len..], &mut after[..state_len], gate_block)
        };
        let xw_step = &xw[local * batch * h3..(local + 1) * batch * h3];
        let step = Step { shape, options, xw: xw_step, biases };
        let h_recurrent: &[f32] = match recurrent_mask {
            Some(m) => {
                dropped_state.iter_mut().zip(h_prev.iter().zip(m)).for_each(|(d, (h, m))| *d = h * m);
                &dropped_state
            }
            None => h_prev,
        };
        let states = StepStates { h_prev, h_recurrent, h_next };
        if options.reset_after {
            step.forward_reset_after(states, gates_s, &packed_first, &mut projection, ws);
        } else {
            let candidate = packed_candidate.as_ref().expect("packed for reset_after = false");
            step.forward_reset_before(states, gates_s, &packed_first, candidate, &mut projection, ws);
        }
        if let Some(mask) = mask {
            for b in 0..batch {
                if mask[b * steps + t] == 0.0 {
                    h_next[b * units..(b + 1) * units].copy_from_slice(&h_prev[b * units..(b + 1) * units]);
                }
            }
        }
        if options.return_sequences {
            for b in 0..batch {
                let dst = (b * steps + s) * units;
                output[dst..dst + units].copy_from_slice(&h_next[b * units..(b + 1) * units]);
            }
        }
    }
    if !options.return_sequences {
        let last = if training { steps } else { steps % 2 };
        output.copy_from_slice(&states[last * state_len..(last + 1) * state_len]);
    }
    Ok(())
}

/// The blocks of a recurrent kernel `[H, 3·units]` that the per-step products
/// multiply by: all of it with `reset_after`, else its z|r columns and its
/// h columns apart (the candidate's product reads `r⊙h`, known only after
/// z and r).
fn recurrent_blocks(recurrent: MatRef, units: usize, reset_after: bool) -> (MatRef, Option<MatRef>) {
    if reset_after {
        (recurrent, None)
    } else {
        (recurrent.columns(0, 2 * units), Some(recurrent.columns(2 * units, units)))
    }
}

/// Rows (steps × batch) whose input projection, and in backward whose
/// gradients, are held at a time: enough for efficient GEMMs.
const CHUNK_ROWS: usize = 512;

/// Steps per chunk of about [`CHUNK_ROWS`] rows.
fn chunk_steps(shape: GruShape) -> usize {
    CHUNK_ROWS.div_ceil(shape.batch).clamp(1, shape.steps)
}

/// Copies the inputs of processing steps `first..` into `out`, `[steps, B, I]`
/// (processing order), as many steps as `out` holds.
fn gather_steps(shape: GruShape, options: &GruOptions, x: &[f32], first: usize, out: &mut [f32]) {
    let GruShape { batch, steps, input, .. } = shape;
    for (local, step_rows) in out.chunks_exact_mut(batch * input).enumerate() {
        let t = shape.input_step(options, first + local);
        for (b, row) in step_rows.chunks_exact_mut(input).enumerate() {
            let src = (b * steps + t) * input;
            row.copy_from_slice(&x[src..src + input]);
        }
    }
}

/// `xw = x·W` for the rows of `x` (`[rows, I]` → `[rows, 3H]`), without the
/// input bias: each step adds it as it reads its rows ([`StepBiases`]).
fn project(params: &GruParams, x: &[f32], xw: &mut [f32], shape: GruShape, ws: &mut GemmWorkspace) {
    let (input, h3) = (shape.input, 3 * shape.units);
    let rows = x.len() / input;
    gemm(
        1.0,
        MatRef::row_major(x, rows, input),
        MatRef::row_major(params.kernel, input, h3),
        0.0,
        MatMut::row_major(xw, rows, h3),
        ws,
    );
}

/// A step's biases, `3W` each (for `W` units), added as each row's gates
/// read the products: started from the biases, the step's products would
/// write and read back their whole output once more.
#[derive(Clone, Copy)]
struct StepBiases<'a> {
    /// Added to `x·W`: the bias, or with `reset_after` its input row.
    input: &'a [f32],
    /// Added to `h·U`: with `reset_after` the bias' recurrent row, else zeros.
    recurrent: &'a [f32],
}

impl<'a> StepBiases<'a> {
    /// From a layer's bias (`[3W]`, or `[2, 3W]` with `reset_after`); `zeros`
    /// (`3W` zeros) stands for the biases it does not have.
    fn new(bias: Option<&'a [f32]>, w3: usize, reset_after: bool, zeros: &'a [f32]) -> Self {
        match bias {
            Some(bias) if reset_after => StepBiases { input: &bias[..w3], recurrent: &bias[w3..2 * w3] },
            Some(bias) => StepBiases { input: &bias[..w3], recurrent: zeros },
            None => StepBiases { input: zeros, recurrent: zeros },
        }
    }

    /// z and r of one row: `σ((x·W + b_x) + (h·U + b_h))` over its first `2W`
    /// columns, summed in that order by every caller (one thread, or the
    /// parts of a split forward), so that their results are bit-equal.
    fn update_and_reset(&self, zr: &mut [f32], xw: &[f32], hu: &[f32], width: usize, sigma: Activation) {
        let (input, recurrent) = (&self.input[..2 * width], &self.recurrent[..2 * width]);
        for (j, g) in zr.iter_mut().enumerate() {
            *g = (xw[j] + input[j]) + (hu[j] + recurrent[j]);
        }
        sigma.forward(zr, width);
    }

    /// The candidate of one row, reset after the product: `hu_h ← h·U_h +
    /// b_hh` (kept for backward) and `h̃ = φ((x·W_h + b_xh) + r⊙hu_h)`.
    #[allow(clippy::too_many_arguments)]
    fn candidate_reset_after(
        &self,
        candidate: &mut [f32],
        hu_h: &mut [f32],
        product_h: &[f32],
        r: &[f32],
        xw_h: &[f32],
        width: usize,
        phi: Activation,
    ) {
        let (input, recurrent) = (&self.input[2 * width..], &self.recurrent[2 * width..]);
        for j in 0..width {
            hu_h[j] = product_h[j] + recurrent[j];
            candidate[j] = (xw_h[j] + input[j]) + r[j] * hu_h[j];
        }
        phi.forward(candidate, width);
    }

    /// The candidate of one row, reset before the product:
    /// `h̃ = φ((x·W_h + b_h) + (r⊙h)·U_h)`.
    fn candidate_reset_before(
        &self,
        candidate: &mut [f32],
        product_h: &[f32],
        xw_h: &[f32],
        width: usize,
        phi: Activation,
    ) {
        let input = &self.input[2 * width..];
        for j in 0..width {
            candidate[j] = (xw_h[j] + input[j]) + product_h[j];
        }
        phi.forward(candidate, width);
    }
}

/// The states one step reads and writes, each `[B, H]`.
struct StepStates<'a> {
    /// The state before the step, which the update gate keeps.
    h_prev: &'a [f32],
    /// The state the recurrent products read: `h_prev`, or `h_prev⊙m` with
    /// recurrent dropout.
    h_recurrent: &'a [f32],
    h_next: &'a mut [f32],
}

/// One time step's view of the shared inputs.
struct Step<'a> {
    shape: GruShape,
    options: &'a GruOptions,
    /// `[B, 3H]`: this step's input projection, without the bias.
    xw: &'a [f32],
    biases: StepBiases<'a>,
}

impl Step<'_> {
    fn xw_row(&self, b: usize) -> &[f32] {
        let h3 = 3 * self.shape.units;
        &self.xw[b * h3..(b + 1) * h3]
    }

    /// # Parameters
    /// - `gates`: `[B, 4H]` ← z, r, h̃, `h·U_h + b_hh`
    /// - `packed`: all of `U`, `[H, 3H]`
    /// - `projection`: scratch `[B, 3H]`
    fn forward_reset_after(
        &self,
        states: StepStates,
        gates: &mut [f32],
        packed: &PackedB,
        projection: &mut [f32],
        ws: &mut GemmWorkspace,
    ) {
        let GruShape { batch, units, .. } = self.shape;
        let StepStates { h_prev, h_recurrent, h_next } = states;
        let h3 = 3 * units;
        gemm_packed(
            1.0,
            MatRef::row_major(h_recurrent, batch, units),
            packed,
            0.0,
            MatMut::row_major(projection, batch, h3),
            ws,
        );
        for b in 0..batch {
            let xw = self.xw_row(b);
            let hu = &projection[b * h3..(b + 1) * h3];
            let g = &mut gates[b * 4 * units..(b + 1) * 4 * units];
            let (zr, rest) = g.split_at_mut(2 * units);
            let (candidate, hu_h) = rest.split_at_mut(units);
            self.biases.update_and_reset(zr, xw, hu, units, self.options.recurrent_activation);
            let r = &zr[units..];
            let phi = self.options.activation;
            self.biases.candidate_reset_after(candidate, hu_h, &hu[2 * units..], r, &xw[2 * units..], units, phi);
            blend(
                &zr[..units],
                candidate,
                &h_prev[b * units..(b + 1) * units],
                &mut h_next[b * units..(b + 1) * units],
            );
        }
    }

    /// As [`Self::forward_reset_after`], with `gates` ← z, r, h̃, `r⊙h`, and
    /// `U` packed as its z|r columns and its h columns.
    #[allow(clippy::too_many_arguments)]
    fn forward_reset_before(
        &self,
        states: StepStates,
        gates: &mut [f32],
        packed_zr: &PackedB,
        packed_h: &PackedB,
        projection: &mut [f32],
        ws: &mut GemmWorkspace,
    ) {
        let GruShape { batch, units, .. } = self.shape;
        let StepStates { h_prev, h_recurrent, h_next } = states;
        let (h2, h4) = (2 * units, 4 * units);
        let (zr_proj, rest) = projection.split_at_mut(batch * h2);
        gemm_packed(
            1.0,
            MatRef::row_major(h_recurrent, batch, units),
            packed_zr,
            0.0,
            MatMut::row_major(zr_proj, batch, h2),
            ws,
        );
        for b in 0..batch {
            let xw = self.xw_row(b);
            let g = &mut gates[b * h4..(b + 1) * h4];
            let zr = &mut g[..h2];
            self.biases.update_and_reset(
                zr,
                xw,
                &zr_proj[b * h2..(b + 1) * h2],
                units,
                self.options.recurrent_activation,
            );
            let h = &h_recurrent[b * units..(b + 1) * units];
            for j in 0..units {
                g[3 * units + j] = g[units + j] * h[j];
            }
        }
        // (r⊙h)·U_h, reading r⊙h in place from the gates (row stride 4H).
        let reset_state = MatRef::new(&gates[3 * units..], batch, units, h4, 1);
        let h_proj = &mut rest[..batch * units];
        gemm_packed(1.0, reset_state, packed_h, 0.0, MatMut::row_major(h_proj, batch, units), ws);
        for b in 0..batch {
            let xw = self.xw_row(b);
            let g = &mut gates[b * h4..(b + 1) * h4];
            let (z_r, rest) = g.split_at_mut(h2);
            let candidate = &mut rest[..units];
            let product_h = &h_proj[b * units..(b + 1) * units];
            self.biases.candidate_reset_before(candidate, product_h, &xw[h2..], units, self.options.activation);
            blend(
                &z_r[..units],
                candidate,
                &h_prev[b * units..(b + 1) * units],
                &mut h_next[b * units..(b + 1) * units],
            );
        }
    }
}

/// `h' = z⊙h + (1 − z)⊙h̃`
#[inline]
fn blend(z: &[f32], candidate: &[f32], h_prev: &[f32], h_next: &mut [f32]) {
    for j in 0..h_next.len() {
        h_next[j] = z[j] * h_prev[j] + (1.0 - z[j]) * candidate[j];
    }
}

/// Backward through time.
///
/// # Parameters
/// - `x`: `[B, T, I]`, the forward input
/// - `cache`: what [`gru_forward`] stored
/// - `mask`, `recurrent_mask`: the forward's, if it had them
/// - `d_output`: ∂L/∂output, shaped like the forward output (`[B, T, H]` in
///   processing order with `return_sequences`, else `[B, H]`)
/// - `grads`: written
#[allow(clippy::too_many_arguments)]
pub fn gru_backward(
    shape: GruShape,
    options: &GruOptions,
    params: &GruParams,
    x: &[f32],
    cache: &[f32],
    mask: Option<&[f32]>,
    recurrent_mask: Option<&[f32]>,
    d_output: &[f32],
    grads: GruGrads,
    ws: &mut GemmWorkspace,
) -> KernelResult<()> {
    backward_in_chunks(shape, options, params, x, cache, mask, recurrent_mask, d_output, grads, ws, CHUNK_ROWS)
}

/// [`gru_backward`], accumulating ∂U over chunks of about `du_chunk_rows`
/// rows (whole steps of the batch).
#[allow(clippy::too_many_arguments)]
fn backward_in_chunks(
    shape: GruShape,
    options: &GruOptions,
    params: &GruParams,
    x: &[f32],
    cache: &[f32],
    mask: Option<&[f32]>,
    recurrent_mask: Option<&[f32]>,
    d_output: &[f32],
    mut grads: GruGrads,
    ws: &mut GemmWorkspace,
    du_chunk_rows: usize,
) -> KernelResult<()> {
    const OP: &str = "gru_backward";
    let cache_len = shape.validate(OP, options, params)?;
    let GruShape { batch, steps, input, units } = shape;
    expect_len(OP, "x", x.len(), &[batch, steps, input])?;
    if cache.len() != cache_len {
        return Err(KernelError::new(OP, format!("`cache` has {} floats, expected {cache_len}", cache.len())));
    }
    if let Some(mask) = mask {
        expect_len(OP, "mask", mask.len(), &[batch, steps])?;
    }
    if let Some(m) = recurrent_mask {
        expect_len(OP, "recurrentMask", m.len(), &[batch, units])?;
    }
    expect_len(OP, "dOutput", d_output.len(), &shape.output_shape(options))?;
    expect_len(OP, "dKernel", grads.kernel.len(), &[input, 3 * units])?;
    expect_len(OP, "dRecurrentKernel", grads.recurrent_kernel.len(), &[units, 3 * units])?;
    match (&grads.bias, params.bias) {
        (Some(db), Some(_)) => expect_len(OP, "dBias", db.len(), &shape.bias_shape(options))?,
        (Some(_), None) => return Err(KernelError::new(OP, "`dBias` given for a layer without bias")),
        _ => {}
    }
    if let Some(dx) = &grads.x {
        expect_len(OP, "dX", dx.len(), &[batch, steps, input])?;
    }
    if let Some(dh0) = &grads.initial_state {
        expect_len(OP, "dInitialState", dh0.len(), &[batch, units])?;
    }

    let (h2, h3, h4) = (2 * units, 3 * units, 4 * units);
    let state_len = batch * units;
    let (states, gates) = cache.split_at((steps + 1) * state_len);
    let recurrent = MatRef::row_major(params.recurrent_kernel, units, h3);
    // Per step: ∂L/∂h_prev gets (∂L/∂ recurrent projection)·Uᵀ.
    let (first, candidate) = recurrent_blocks(recurrent, units, options.reset_after);
    let (packed_first_t, packed_candidate_t) = (PackedB::new(first.t()), candidate.map(|c| PackedB::new(c.t())));

    // ∂L/∂(x·W + b_i) in input order [B·T, 3H], and ∂L/∂(recurrent
    // projection) in processing order [T·B, 3H].
    // ∂L/∂(input projection) and ∂L/∂(recurrent projection) are kept for a
    // chunk of steps at a time (rows `local·B + b`), and ∂W, ∂x, ∂U and ∂b
    // accumulated one chunk at a time.
    let chunk = du_chunk_rows.div_ceil(batch).clamp(1, steps);
    let mut d_xw = zeroed(OP, "∂L/∂(input projection)", chunk * batch * h3)?;
    let mut x_chunk = zeroed(OP, "a chunk of inputs", chunk * batch * input)?;
    let mut dx_chunk = zeroed(OP, "a chunk of ∂L/∂x", if grads.x.is_some() { chunk * batch * input } else { 0 })?;
    let mut input_bias_sums = vec![0.0f64; if grads.bias.is_some() { h3 } else { 0 }];
    let mut d_hu = zeroed(OP, "∂L/∂(recurrent projection)", chunk * batch * h3)?;
    let mut recurrent_bias_sums = vec![0.0f64; if options.reset_after && grads.bias.is_some() { h3 } else { 0 }];
    let mut d_recurrent_written = false;
    let mut dh = zeroed(OP, "∂L/∂h", state_len)?;
    let mut dh_prev = zeroed(OP, "∂L/∂h", state_len)?;
    let mut d_reset_state = zeroed(OP, "∂L/∂h", state_len)?;
    let mut dh_recurrent = zeroed(OP, "∂L/∂h", state_len)?;
    // The states the recurrent products read: h, or h⊙m with recurrent dropout.
    let mut dropped_states: Vec<f32>;
    let recurrent_states: &[f32] = match recurrent_mask {
        Some(m) => {
            dropped_states = zeroed(OP, "the dropped states", steps * state_len)?;
            for (out, step) in dropped_states.chunks_exact_mut(state_len).zip(states.chunks_exact(state_len)) {
                out.iter_mut().zip(step.iter().zip(m)).for_each(|(o, (h, m))| *o = h * m);
            }
            &dropped_states
        }
        None => &states[..steps * state_len],
    };
    if !options.return_sequences {
        dh.copy_from_slice(d_output);
    }
    let (ract, act) = (options.recurrent_activation, options.activation);

    for s in (0..steps).rev() {
        cancel::check(OP)?;
        let t = shape.input_step(options, s);
        if options.return_sequences {
            for b in 0..batch {
                let src = (b * steps + s) * units;
                dh[b * units..(b + 1) * units].iter_mut().zip(&d_output[src..src + units]).for_each(|(d, &g)| *d += g);
            }
        }
        let h_prev = &states[s * state_len..(s + 1) * state_len];
        let gates_s = &gates[s * batch * h4..(s + 1) * batch * h4];
        let chunk_start = s - s % chunk;
        let local = s - chunk_start;
        let d_hu_s = &mut d_hu[local * batch * h3..(local + 1) * batch * h3];

        // Through the blend and the activations: ∂ pre-activations of z and h̃.
        for b in 0..batch {
            let g = &gates_s[b * h4..(b + 1) * h4];
            let (z, r, candidate, extra) = (&g[..units], &g[units..h2], &g[h2..h3], &g[h3..]);
            let row = local * batch + b;
            let d_xw_row = &mut d_xw[row * h3..(row + 1) * h3];
            let d_hu_row = &mut d_hu_s[b * h3..(b + 1) * h3];
            let hp = &h_prev[b * units..(b + 1) * units];
            let dh_b = &dh[b * units..(b + 1) * units];
            let dh_prev_b = &mut dh_prev[b * units..(b + 1) * units];
            if mask.is_some_and(|m| m[b * steps + t] == 0.0) {
                // A padded step passed the state through: so does its gradient.
                d_xw_row.fill(0.0);
                d_hu_row.fill(0.0);
                dh_prev_b.copy_from_slice(dh_b);
                continue;
            }
            for j in 0..units {
                d_xw_row[j] = dh_b[j] * (hp[j] - candidate[j]);
                d_xw_row[h2 + j] = dh_b[j] * (1.0 - z[j]);
                dh_prev_b[j] = dh_b[j] * z[j];
            }
            ract.backward(z, &mut d_xw_row[..units], units);
            act.backward(candidate, &mut d_xw_row[h2..], units);
            d_hu_row[..units].copy_from_slice(&d_xw_row[..units]);
            if options.reset_after {
                // a_h = x·W_h + b_ih + r⊙hu_h with hu_h = `extra`
                for j in 0..units {
                    let da_h = d_xw_row[h2 + j];
                    d_xw_row[units + j] = da_h * extra[j];
                    d_hu_row[h2 + j] = da_h * r[j];
                }
                ract.backward(r, &mut d_xw_row[units..h2], units);
                d_hu_row[units..h2].copy_from_slice(&d_xw_row[units..h2]);
            } else {
                d_hu_row[h2..].copy_from_slice(&d_xw_row[h2..]);
            }
        }

        // ∂L/∂(the state the recurrent products read), through U and r.
        let rec_prev = &recurrent_states[s * state_len..(s + 1) * state_len];
        if options.reset_after {
            let d_hu_mat = MatRef::row_major(d_hu_s, batch, h3);
            gemm_packed(1.0, d_hu_mat, &packed_first_t, 0.0, MatMut::row_major(&mut dh_recurrent, batch, units), ws);
        } else {
            // ∂L/∂(r⊙h) = ∂a_h·U_hᵀ, then through r and h.
            let candidate_t = packed_candidate_t.as_ref().expect("packed for reset_after = false");
            let d_candidate = MatRef::new(&d_hu_s[h2..], batch, units, h3, 1);
            gemm_packed(1.0, d_candidate, candidate_t, 0.0, MatMut::row_major(&mut d_reset_state, batch, units), ws);
            for b in 0..batch {
                let r = &gates_s[b * h4 + units..b * h4 + h2];
                let hr = &rec_prev[b * units..(b + 1) * units];
                let drh = &d_reset_state[b * units..(b + 1) * units];
                let row = local * batch + b;
                let d_r = &mut d_xw[row * h3 + units..row * h3 + h2];
                for j in 0..units {
                    d_r[j] = drh[j] * hr[j];
                    dh_recurrent[b * units + j] = drh[j] * r[j];
                }
                ract.backward(r, d_r, units);
                d_hu_s[b * h3 + units..b * h3 + h2].copy_from_slice(d_r);
            }
            let d_zr = MatRef::new(d_hu_s, batch, h2, h3, 1);
            gemm_packed(1.0, d_zr, &packed_first_t, 1.0, MatMut::row_major(&mut dh_recurrent, batch, units), ws);
        }
        match recurrent_mask {
            Some(m) => {
                dh_prev.iter_mut().zip(dh_recurrent.iter().zip(m)).for_each(|(d, (g, m))| *d += g * m);
            }
            None => dh_prev.iter_mut().zip(&dh_recurrent).for_each(|(d, g)| *d += g),
        }
        std::mem::swap(&mut dh, &mut dh_prev);

        if local == 0 {
            // ∂U += Σ_{s in chunk} h_sᵀ·∂hu_s, the chunk's steps as one GEMM.
            let rows = chunk.min(steps - chunk_start) * batch;
            let beta = if d_recurrent_written { 1.0 } else { 0.0 };
            let prev_states = MatRef::row_major(
                &recurrent_states[chunk_start * state_len..chunk_start * state_len + rows * units],
                rows,
                units,
            );
            let d_hu_mat = MatRef::row_major(&d_hu[..rows * h3], rows, h3);
            let mut d_recurrent = MatMut::row_major(&mut *grads.recurrent_kernel, units, h3);
            if options.reset_after {
                gemm(1.0, prev_states.t(), d_hu_mat, beta, d_recurrent, ws);
            } else {
                gemm(1.0, prev_states.t(), d_hu_mat.columns(0, h2), beta, d_recurrent.columns(0, h2), ws);
                let reset_states = MatRef::new(&gates[chunk_start * batch * h4 + h3..], rows, units, h4, 1);
                gemm(1.0, reset_states.t(), d_hu_mat.columns(h2, units), beta, d_recurrent.columns(h2, units), ws);
            }
            // ∂W += x_chunkᵀ·∂xw_chunk, and ∂x for the chunk's rows.
            let x_rows = &mut x_chunk[..rows * input];
            gather_steps(shape, options, x, chunk_start, x_rows);
            let d_xw_mat = MatRef::row_major(&d_xw[..rows * h3], rows, h3);
            let d_kernel = MatMut::row_major(&mut *grads.kernel, input, h3);
            gemm(1.0, MatRef::row_major(x_rows, rows, input).t(), d_xw_mat, beta, d_kernel, ws);
            if let Some(dx) = grads.x.as_deref_mut() {
                let dx_rows = &mut dx_chunk[..rows * input];
                let kernel_t = MatRef::row_major(params.kernel, input, h3).t();
                gemm(1.0, d_xw_mat, kernel_t, 0.0, MatMut::row_major(dx_rows, rows, input), ws);
                for (local, step_rows) in dx_rows.chunks_exact(batch * input).enumerate() {
                    let t = shape.input_step(options, chunk_start + local);
                    for (b, row) in step_rows.chunks_exact(input).enumerate() {
                        let dst = (b * steps + t) * input;
                        dx[dst..dst + input].copy_from_slice(row);
                    }
                }
            }
            d_recurrent_written = true;
            for row in d_hu[..rows * h3].chunks_exact(h3) {
                recurrent_bias_sums.iter_mut().zip(row).for_each(|(sum, &g)| *sum += f64::from(g));
            }
            for row in d_xw[..rows * h3].chunks_exact(h3) {
                input_bias_sums.iter_mut().zip(row).for_each(|(sum, &g)| *sum += f64::from(g));
            }
        }
    }

    if let Some(dh0) = grads.initial_state {
        dh0.copy_from_slice(&dh);
    }
    if let Some(db) = grads.bias {
        db[..h3].iter_mut().zip(&input_bias_sums).for_each(|(d, &sum)| *d = sum as f32);
        if options.reset_after {
            db[h3..].iter_mut().zip(&recurrent_bias_sums).for_each(|(d, &sum)| *d = sum as f32);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
