//! The WebAssembly surface of gru-wasm: the only `#[wasm_bindgen]` code.
//!
//! Tensors live in the module's linear memory and are named by the offset of
//! their allocation ([`alloc_f32`]). Every call takes offsets and dimensions,
//! checks each offset against the table of live allocations, and returns a
//! `Result` whose error wasm-bindgen throws as a JavaScript `Error` naming the
//! operation and argument. Nothing is ever read or written outside a live
//! allocation of the right size.

mod args;
mod optim;
mod registry;

use args::Args;
use gru_core::gemm::{self, GemmWorkspace, MatMut, MatRef};
use gru_core::init::Initializer;
use gru_core::ops::activation::Activation;
use gru_core::ops::dense::{self, DenseGrads, DenseShape};
use gru_core::ops::dropout;
use gru_core::ops::gru::{self, GruGrads, GruOptions, GruParams, GruShape};
use gru_core::ops::loss::{self, Loss};
use gru_core::ops::merge::{self, MergeMode, MergeShape};
use gru_core::KernelError;
use std::cell::RefCell;
use wasm_bindgen::prelude::*;

#[cfg(all(target_arch = "wasm32", not(target_feature = "simd128")))]
compile_error!("gru-wasm needs WebAssembly SIMD: build with RUSTFLAGS='-C target-feature=+simd128' (scripts/build.sh)");

thread_local! {
    /// Packing buffers reused by every call on this thread (one per worker).
    static WORKSPACE: RefCell<GemmWorkspace> = RefCell::new(GemmWorkspace::new());
}

fn with_workspace<T>(f: impl FnOnce(&mut GemmWorkspace) -> T) -> T {
    WORKSPACE.with(|ws| f(&mut ws.borrow_mut()))
}

fn js(error: KernelError) -> JsError {
    JsError::new(&error.to_string())
}

/// The module's `WebAssembly.Memory` (shared in the threaded build).
#[wasm_bindgen(js_name = kernelMemory)]
pub fn kernel_memory() -> JsValue {
    wasm_bindgen::memory()
}

/// Whether this build runs over a shared memory with atomics.
#[wasm_bindgen(js_name = isThreaded)]
pub fn is_threaded() -> bool {
    cfg!(target_feature = "atomics")
}

/// Allocates `len` zeroed floats, 16-byte aligned; returns the byte offset.
#[wasm_bindgen(js_name = allocF32)]
pub fn alloc_f32(len: u32) -> Result<u32, JsError> {
    registry::allocate(len).ok_or_else(|| {
        JsError::new(&format!("allocF32: out of memory allocating {len} floats ({} bytes)", 4 * u64::from(len)))
    })
}

/// Frees an allocation made by [`alloc_f32`].
#[wasm_bindgen(js_name = freeF32)]
pub fn free_f32(offset: u32) -> Result<(), JsError> {
    if registry::release(offset) {
        Ok(())
    } else {
        Err(JsError::new(&format!("freeF32: offset {offset} is not a live tensor (freed twice?)")))
    }
}

/// Float count of a live allocation, or `undefined`.
#[wasm_bindgen(js_name = lengthF32)]
pub fn length_f32(offset: u32) -> Option<u32> {
    registry::length(offset)
}

/// Bytes held by live tensors.
#[wasm_bindgen(js_name = liveBytes)]
pub fn live_bytes() -> f64 {
    registry::live().0 as f64
}

/// Number of live tensors.
#[wasm_bindgen(js_name = liveTensors)]
pub fn live_tensors() -> u32 {
    registry::live().1
}

/// Fills a `[rows, cols]` tensor with a Keras initializer (`rows` is the
/// fan in, `cols` the fan out), from `seed`.
#[wasm_bindgen]
pub fn initialize(name: &str, tensor: u32, rows: u32, cols: u32, seed: u32) -> Result<(), JsError> {
    const OP: &str = "initialize";
    let initializer = Initializer::from_name(name).map_err(js)?;
    let out = Args::new(OP).write("tensor", tensor)?;
    gru_core::error::expect_len(OP, "tensor", out.len(), &[rows as usize, cols as usize]).map_err(js)?;
    initializer.fill(out, rows as usize, cols as usize, u64::from(seed));
    Ok(())
}

/// Sets every element of a tensor to `value`.
#[wasm_bindgen]
pub fn fill(tensor: u32, value: f32) -> Result<(), JsError> {
    Args::new("fill").write("tensor", tensor)?.fill(value);
    Ok(())
}

/// `C ← α·op(A)·op(B) + β·C`, all row-major; `op(A)` is `m × k`, `op(B)`
/// is `k × n`. With `β = 0`, C is not read.
#[allow(clippy::too_many_arguments)]
#[wasm_bindgen]
pub fn gemm(
    trans_a: bool,
    trans_b: bool,
    m: u32,
    n: u32,
    k: u32,
    alpha: f32,
    a: u32,
    b: u32,
    beta: f32,
    c: u32,
) -> Result<(), JsError> {
    const OP: &str = "gemm";
    let (m, n, k) = (m as usize, n as usize, k as usize);
    let mut args = Args::new(OP);
    let a = args.read("a", a)?;
    let b = args.read("b", b)?;
    let c = args.write("c", c)?;
    let check =
        |name: &str, got: usize, shape: [usize; 2]| gru_core::error::expect_len(OP, name, got, &shape).map_err(js);
    check("a", a.len(), if trans_a { [k, m] } else { [m, k] })?;
    check("b", b.len(), if trans_b { [n, k] } else { [k, n] })?;
    check("c", c.len(), [m, n])?;
    let a = if trans_a { MatRef::row_major(a, k, m).t() } else { MatRef::row_major(a, m, k) };
    let b = if trans_b { MatRef::row_major(b, n, k).t() } else { MatRef::row_major(b, k, n) };
    with_workspace(|ws| gemm::gemm(alpha, a, b, beta, MatMut::row_major(c, m, n), ws));
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn gru_config(
    batch: u32,
    steps: u32,
    input: u32,
    units: u32,
    reset_after: bool,
    go_backwards: bool,
    return_sequences: bool,
    activation: &str,
    recurrent_activation: &str,
) -> Result<(GruShape, GruOptions), JsError> {
    let shape = GruShape { batch: batch as usize, steps: steps as usize, input: input as usize, units: units as usize };
    let options = GruOptions {
        reset_after,
        go_backwards,
        return_sequences,
        activation: Activation::from_name(activation).map_err(js)?,
        recurrent_activation: Activation::from_name(recurrent_activation).map_err(js)?,
    };
    Ok((shape, options))
}

/// Floats of the cache [`gru_forward`] fills when training.
#[wasm_bindgen(js_name = gruCacheLength)]
pub fn gru_cache_length(batch: u32, steps: u32, input: u32, units: u32) -> Result<u32, JsError> {
    let shape = GruShape { batch: batch as usize, steps: steps as usize, input: input as usize, units: units as usize };
    gru::gru_cache_len(shape)
        .and_then(|len| u32::try_from(len).ok())
        .ok_or_else(|| JsError::new("gruCacheLength: the cache would not fit in a 32-bit memory"))
}

/// GRU forward; see `gru_core::ops::gru`. Shapes: `x [B,T,I]`, `kernel
/// [I,3H]`, `recurrentKernel [H,3H]`, `bias [3H]` or `[2,3H]`, `initialState
/// [B,H]`, `mask [B,T]` (0 on padded steps), `recurrentMask [B,H]`
/// (recurrent dropout), `output [B,T,H]` or `[B,H]`, `cache` of
/// `gruCacheLength` floats.
#[allow(clippy::too_many_arguments)]
#[wasm_bindgen(js_name = gruForward)]
pub fn gru_forward(
    batch: u32,
    steps: u32,
    input: u32,
    units: u32,
    reset_after: bool,
    go_backwards: bool,
    return_sequences: bool,
    activation: &str,
    recurrent_activation: &str,
    x: u32,
    kernel: u32,
    recurrent_kernel: u32,
    bias: Option<u32>,
    initial_state: Option<u32>,
    mask: Option<u32>,
    recurrent_mask: Option<u32>,
    output: u32,
    cache: Option<u32>,
) -> Result<(), JsError> {
    let (shape, options) = gru_config(
        batch,
        steps,
        input,
        units,
        reset_after,
        go_backwards,
        return_sequences,
        activation,
        recurrent_activation,
    )?;
    let mut args = Args::new("gru_forward");
    let x = args.read("x", x)?;
    let params = GruParams {
        kernel: args.read("kernel", kernel)?,
        recurrent_kernel: args.read("recurrentKernel", recurrent_kernel)?,
        bias: args.read_opt("bias", bias)?,
    };
    let initial_state = args.read_opt("initialState", initial_state)?;
    let mask = args.read_opt("mask", mask)?;
    let recurrent_mask = args.read_opt("recurrentMask", recurrent_mask)?;
    let output = args.write("output", output)?;
    let cache = args.write_opt("cache", cache)?;
    with_workspace(|ws| {
        gru::gru_forward(shape, &options, &params, x, initial_state, mask, recurrent_mask, output, cache, ws)
    })
    .map_err(js)
}

/// GRU backward through time; gradients are written, not accumulated.
/// `dOutput` is shaped like the forward's output.
#[allow(clippy::too_many_arguments)]
#[wasm_bindgen(js_name = gruBackward)]
pub fn gru_backward(
    batch: u32,
    steps: u32,
    input: u32,
    units: u32,
    reset_after: bool,
    go_backwards: bool,
    return_sequences: bool,
    activation: &str,
    recurrent_activation: &str,
    x: u32,
    kernel: u32,
    recurrent_kernel: u32,
    bias: Option<u32>,
    cache: u32,
    mask: Option<u32>,
    recurrent_mask: Option<u32>,
    d_output: u32,
    d_kernel: u32,
    d_recurrent_kernel: u32,
    d_bias: Option<u32>,
    d_x: Option<u32>,
    d_initial_state: Option<u32>,
) -> Result<(), JsError> {
    let (shape, options) = gru_config(
        batch,
        steps,
        input,
        units,
        reset_after,
        go_backwards,
        return_sequences,
        activation,
        recurrent_activation,
    )?;
    let mut args = Args::new("gru_backward");
    let x = args.read("x", x)?;
    let params = GruParams {
        kernel: args.read("kernel", kernel)?,
        recurrent_kernel: args.read("recurrentKernel", recurrent_kernel)?,
        bias: args.read_opt("bias", bias)?,
    };
    let cache = args.read("cache", cache)?;
    let mask = args.read_opt("mask", mask)?;
    let recurrent_mask = args.read_opt("recurrentMask", recurrent_mask)?;
    let d_output = args.read("dOutput", d_output)?;
    let grads = GruGrads {
        kernel: args.write("dKernel", d_kernel)?,
        recurrent_kernel: args.write("dRecurrentKernel", d_recurrent_kernel)?,
        bias: args.write_opt("dBias", d_bias)?,
        x: args.write_opt("dX", d_x)?,
        initial_state: args.write_opt("dInitialState", d_initial_state)?,
    };
    with_workspace(|ws| {
        gru::gru_backward(shape, &options, &params, x, cache, mask, recurrent_mask, d_output, grads, ws)
    })
    .map_err(js)
}

/// Dense forward `y = act(x·W + b)`: `x [rows,I]`, `kernel [I,U]`, `bias
/// [U]`, `y [rows,U]`.
#[allow(clippy::too_many_arguments)]
#[wasm_bindgen(js_name = denseForward)]
pub fn dense_forward(
    rows: u32,
    input: u32,
    units: u32,
    activation: &str,
    x: u32,
    kernel: u32,
    bias: Option<u32>,
    y: u32,
) -> Result<(), JsError> {
    let shape = DenseShape { rows: rows as usize, input: input as usize, units: units as usize };
    let activation = Activation::from_name(activation).map_err(js)?;
    let mut args = Args::new("dense_forward");
    let x = args.read("x", x)?;
    let kernel = args.read("kernel", kernel)?;
    let bias = args.read_opt("bias", bias)?;
    let y = args.write("y", y)?;
    with_workspace(|ws| dense::dense_forward(shape, activation, x, kernel, bias, y, ws)).map_err(js)
}

/// Dense backward from the forward's input `x` and output `y`.
#[allow(clippy::too_many_arguments)]
#[wasm_bindgen(js_name = denseBackward)]
pub fn dense_backward(
    rows: u32,
    input: u32,
    units: u32,
    activation: &str,
    x: u32,
    kernel: u32,
    y: u32,
    dy: u32,
    d_kernel: u32,
    d_bias: Option<u32>,
    d_x: Option<u32>,
) -> Result<(), JsError> {
    let shape = DenseShape { rows: rows as usize, input: input as usize, units: units as usize };
    let activation = Activation::from_name(activation).map_err(js)?;
    let mut args = Args::new("dense_backward");
    let x = args.read("x", x)?;
    let kernel = args.read("kernel", kernel)?;
    let y = args.read("y", y)?;
    let dy = args.read("dy", dy)?;
    let grads = DenseGrads {
        kernel: args.write("dKernel", d_kernel)?,
        bias: args.write_opt("dBias", d_bias)?,
        x: args.write_opt("dX", d_x)?,
    };
    with_workspace(|ws| dense::dense_backward(shape, activation, x, kernel, y, dy, grads, ws)).map_err(js)
}

/// Keras masking: rows of `x [rows, width]` equal to `maskValue` everywhere
/// become zeros in `y` and 0 in `mask [rows]` (1 elsewhere).
#[wasm_bindgen(js_name = maskingForward)]
pub fn masking_forward(x: u32, width: u32, mask_value: f32, y: u32, mask: u32) -> Result<(), JsError> {
    let mut args = Args::new("masking_forward");
    let x = args.read("x", x)?;
    let y = args.write("y", y)?;
    let mask = args.write("mask", mask)?;
    gru_core::ops::masking::masking_forward(x, width as usize, mask_value, y, mask).map_err(js)
}

/// `out[r, :] = values[r, :] · mask[r]`.
#[wasm_bindgen(js_name = scaleRows)]
pub fn scale_rows(values: u32, mask: u32, out: u32) -> Result<(), JsError> {
    let mut args = Args::new("scale_rows");
    let values = args.read("values", values)?;
    let mask = args.read("mask", mask)?;
    let out = args.write("out", out)?;
    gru_core::ops::masking::scale_rows(values, mask, out).map_err(js)
}

fn merge_config(
    mode: &str,
    batch: u32,
    steps: u32,
    units: u32,
    reverse_b: bool,
) -> Result<(MergeMode, MergeShape), JsError> {
    let mode = MergeMode::from_name(mode).map_err(js)?;
    Ok((mode, MergeShape { batch: batch as usize, steps: steps as usize, units: units as usize, reverse_b }))
}

/// Merges two directions `a`, `b` (`[B,T,H]`; `b` reversed in time when
/// `reverseB`) into `out` (`[B,T,2H]` for concat, else `[B,T,H]`).
#[allow(clippy::too_many_arguments)]
#[wasm_bindgen(js_name = mergeForward)]
pub fn merge_forward(
    mode: &str,
    batch: u32,
    steps: u32,
    units: u32,
    reverse_b: bool,
    a: u32,
    b: u32,
    out: u32,
) -> Result<(), JsError> {
    let (mode, shape) = merge_config(mode, batch, steps, units, reverse_b)?;
    let mut args = Args::new("merge_forward");
    let (a, b, out) = (args.read("a", a)?, args.read("b", b)?, args.write("out", out)?);
    merge::merge_forward(mode, shape, a, b, out).map_err(js)
}

/// The gradients of both directions from the merged output's.
#[allow(clippy::too_many_arguments)]
#[wasm_bindgen(js_name = mergeBackward)]
pub fn merge_backward(
    mode: &str,
    batch: u32,
    steps: u32,
    units: u32,
    reverse_b: bool,
    a: u32,
    b: u32,
    d_out: u32,
    d_a: u32,
    d_b: u32,
) -> Result<(), JsError> {
    let (mode, shape) = merge_config(mode, batch, steps, units, reverse_b)?;
    let mut args = Args::new("merge_backward");
    let (a, b, d_out) = (args.read("a", a)?, args.read("b", b)?, args.read("dOut", d_out)?);
    let (d_a, d_b) = (args.write("dA", d_a)?, args.write("dB", d_b)?);
    merge::merge_backward(mode, shape, a, b, d_out, d_a, d_b).map_err(js)
}

/// Fills `mask` for inverted dropout: `1 / (1 − rate)` or 0.
#[wasm_bindgen(js_name = dropoutMask)]
pub fn dropout_mask(mask: u32, rate: f32, seed: u32) -> Result<(), JsError> {
    let mask = Args::new("dropout_mask").write("mask", mask)?;
    dropout::dropout_mask(mask, rate, u64::from(seed)).map_err(js)
}

/// `out = a ⊙ b`.
#[wasm_bindgen]
pub fn multiply(a: u32, b: u32, out: u32) -> Result<(), JsError> {
    let mut args = Args::new("multiply");
    let (a, b, out) = (args.read("a", a)?, args.read("b", b)?, args.write("out", out)?);
    dropout::multiply(a, b, out).map_err(js)
}

/// `out[b,t,:] = x[b,t,:] ⊙ mask[b,:]`.
#[wasm_bindgen(js_name = multiplyPerSequence)]
pub fn multiply_per_sequence(x: u32, mask: u32, batch: u32, out: u32) -> Result<(), JsError> {
    let mut args = Args::new("multiply_per_sequence");
    let (x, mask, out) = (args.read("x", x)?, args.read("mask", mask)?, args.write("out", out)?);
    dropout::multiply_per_sequence(x, mask, batch as usize, out).map_err(js)
}

/// `out = a + b`.
#[wasm_bindgen]
pub fn add(a: u32, b: u32, out: u32) -> Result<(), JsError> {
    let mut args = Args::new("add");
    let (a, b, out) = (args.read("a", a)?, args.read("b", b)?, args.write("out", out)?);
    merge::add(a, b, out).map_err(js)
}

/// Applies an activation in place over rows of `width` floats.
#[wasm_bindgen(js_name = activationForward)]
pub fn activation_forward(name: &str, values: u32, width: u32) -> Result<(), JsError> {
    let activation = Activation::from_name(name).map_err(js)?;
    let values = Args::new("activation_forward").write("values", values)?;
    check_rows("activation_forward", values.len(), width)?;
    activation.forward(values, width as usize);
    Ok(())
}

/// Turns ∂L/∂output into ∂L/∂input in place, given the forward's output.
#[wasm_bindgen(js_name = activationBackward)]
pub fn activation_backward(name: &str, output: u32, grad: u32, width: u32) -> Result<(), JsError> {
    const OP: &str = "activation_backward";
    let activation = Activation::from_name(name).map_err(js)?;
    let mut args = Args::new(OP);
    let output = args.read("output", output)?;
    let grad = args.write("grad", grad)?;
    check_rows(OP, output.len(), width)?;
    gru_core::error::expect_len(OP, "grad", grad.len(), &[output.len()]).map_err(js)?;
    activation.backward(output, grad, width as usize);
    Ok(())
}

fn check_rows(op: &'static str, len: usize, width: u32) -> Result<(), JsError> {
    if width == 0 || !len.is_multiple_of(width as usize) {
        return Err(JsError::new(&format!("{op}: width {width} does not divide the {len} values into rows")));
    }
    Ok(())
}

/// The mean loss; with `grad`, also writes ∂loss/∂predictions.
/// `predictions [N,K]`, `targets [N,K]` (sparse: `[N]`), `sampleWeights [N]`.
#[allow(clippy::too_many_arguments)]
#[wasm_bindgen(js_name = lossForwardBackward)]
pub fn loss_forward_backward(
    name: &str,
    from_logits: bool,
    samples: u32,
    width: u32,
    predictions: u32,
    targets: u32,
    sample_weights: Option<u32>,
    grad: Option<u32>,
) -> Result<f64, JsError> {
    let loss = Loss::from_name(name, from_logits).map_err(js)?;
    let mut args = Args::new("loss");
    let predictions = args.read("predictions", predictions)?;
    let targets = args.read("targets", targets)?;
    let sample_weights = args.read_opt("sampleWeights", sample_weights)?;
    let grad = args.write_opt("grad", grad)?;
    loss::loss_forward_backward(loss, samples as usize, width as usize, predictions, targets, sample_weights, grad)
        .map_err(js)
}
