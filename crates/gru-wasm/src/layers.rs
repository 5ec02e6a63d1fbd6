//! The other layers' entry points: dense, embedding, masking, bidirectional
//! merge, global pooling, layer normalization, dropout and element-wise
//! activations.

use crate::args::Args;
use crate::{js, with_workspace};
use gru_core::ops::activation::Activation;
use gru_core::ops::dense::{self, DenseGrads, DenseShape};
use gru_core::ops::dropout;
use gru_core::ops::embedding::{self, EmbeddingShape};
use gru_core::ops::merge::{self, MergeMode, MergeShape};
use gru_core::ops::normalization::{self, LayerNormGrads, LayerNormParams, LayerNormShape};
use gru_core::ops::pooling::{self, Pooling, PoolingShape};
use wasm_bindgen::prelude::*;

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
    with_workspace(|ws| dense::dense_forward(shape, activation, x, kernel, bias, y, ws))?.map_err(js)
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
    with_workspace(|ws| dense::dense_backward(shape, activation, x, kernel, y, dy, grads, ws))?.map_err(js)
}

/// Embedding forward: `out [rows, dim]` ← the rows of `table [vocabulary,
/// dim]` that `ids [rows]` name; `mask [rows]` ← 0 where the id is 0 (Keras'
/// `mask_zero`), 1 elsewhere.
#[wasm_bindgen(js_name = embeddingForward)]
pub fn embedding_forward(
    rows: u32,
    vocabulary: u32,
    dim: u32,
    ids: u32,
    table: u32,
    out: u32,
    mask: Option<u32>,
) -> Result<(), JsError> {
    let shape = EmbeddingShape { rows: rows as usize, vocabulary: vocabulary as usize, dim: dim as usize };
    let mut args = Args::new("embedding_forward");
    let ids = args.read("ids", ids)?;
    let table = args.read("table", table)?;
    let out = args.write("out", out)?;
    let mask = args.write_opt("mask", mask)?;
    embedding::embedding_forward(shape, ids, table, out, mask).map_err(js)
}

/// Embedding backward: `dTable [vocabulary, dim]` ← the sum of `dOut [rows,
/// dim]` over the positions of each id, written.
#[wasm_bindgen(js_name = embeddingBackward)]
pub fn embedding_backward(
    rows: u32,
    vocabulary: u32,
    dim: u32,
    ids: u32,
    d_out: u32,
    d_table: u32,
) -> Result<(), JsError> {
    let shape = EmbeddingShape { rows: rows as usize, vocabulary: vocabulary as usize, dim: dim as usize };
    let mut args = Args::new("embedding_backward");
    let ids = args.read("ids", ids)?;
    let d_out = args.read("dOut", d_out)?;
    let d_table = args.write("dTable", d_table)?;
    embedding::embedding_backward(shape, ids, d_out, d_table).map_err(js)
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

fn pooling_config(mode: &str, batch: u32, steps: u32, features: u32) -> Result<(Pooling, PoolingShape), JsError> {
    let mode = Pooling::from_name(mode).map_err(js)?;
    Ok((mode, PoolingShape { batch: batch as usize, steps: steps as usize, features: features as usize }))
}

/// Global pooling over steps (`mode` average or max): `x [B,T,F]` →
/// `out [B,F]`, steps where `mask [B,T]` is 0 left out.
#[allow(clippy::too_many_arguments)]
#[wasm_bindgen(js_name = poolingForward)]
pub fn pooling_forward(
    mode: &str,
    batch: u32,
    steps: u32,
    features: u32,
    x: u32,
    mask: Option<u32>,
    out: u32,
) -> Result<(), JsError> {
    let (mode, shape) = pooling_config(mode, batch, steps, features)?;
    let mut args = Args::new("pooling_forward");
    let (x, mask) = (args.read("x", x)?, args.read_opt("mask", mask)?);
    let out = args.write("out", out)?;
    pooling::pooling_forward(mode, shape, x, mask, out).map_err(js)
}

/// Global pooling backward: `dX [B,T,F]` from `dOut [B,F]` and the
/// forward's `x`, `mask` and `out`, written.
#[allow(clippy::too_many_arguments)]
#[wasm_bindgen(js_name = poolingBackward)]
pub fn pooling_backward(
    mode: &str,
    batch: u32,
    steps: u32,
    features: u32,
    x: u32,
    mask: Option<u32>,
    out: u32,
    d_out: u32,
    d_x: u32,
) -> Result<(), JsError> {
    let (mode, shape) = pooling_config(mode, batch, steps, features)?;
    let mut args = Args::new("pooling_backward");
    let (x, mask, out) = (args.read("x", x)?, args.read_opt("mask", mask)?, args.read("out", out)?);
    let d_out = args.read("dOut", d_out)?;
    let d_x = args.write("dX", d_x)?;
    pooling::pooling_backward(mode, shape, x, mask, out, d_out, d_x).map_err(js)
}

/// A layer normalization call's sizes, and its `gamma` and `beta` if given.
fn layer_norm_config(
    args: &mut Args,
    rows: u32,
    features: u32,
    gamma: Option<u32>,
    beta: Option<u32>,
) -> Result<(LayerNormShape, LayerNormParams<'static>), JsError> {
    let shape = LayerNormShape { rows: rows as usize, features: features as usize };
    Ok((shape, LayerNormParams { gamma: args.read_opt("gamma", gamma)?, beta: args.read_opt("beta", beta)? }))
}

/// Layer normalization over the last axis: `x [rows,F]` → `y [rows,F]`,
/// with `statistics [rows,2]` (each row's mean and `1/√(σ² + ε)`) written
/// for backward; `gamma`, `beta` `[F]` each, or absent.
#[allow(clippy::too_many_arguments)]
#[wasm_bindgen(js_name = layerNormForward)]
pub fn layer_norm_forward(
    rows: u32,
    features: u32,
    epsilon: f32,
    gamma: Option<u32>,
    beta: Option<u32>,
    x: u32,
    y: u32,
    statistics: u32,
) -> Result<(), JsError> {
    let mut args = Args::new("layer_norm_forward");
    let (shape, params) = layer_norm_config(&mut args, rows, features, gamma, beta)?;
    let x = args.read("x", x)?;
    let (y, statistics) = (args.write("y", y)?, args.write("statistics", statistics)?);
    normalization::layer_norm_forward(shape, epsilon, params, x, y, statistics).map_err(js)
}

/// Layer normalization backward from `dy [rows,F]`, the forward's `x` and
/// `statistics`: `dGamma`, `dBeta` (with their weights) and `dX`, written.
#[allow(clippy::too_many_arguments)]
#[wasm_bindgen(js_name = layerNormBackward)]
pub fn layer_norm_backward(
    rows: u32,
    features: u32,
    epsilon: f32,
    gamma: Option<u32>,
    beta: Option<u32>,
    x: u32,
    statistics: u32,
    dy: u32,
    d_gamma: Option<u32>,
    d_beta: Option<u32>,
    d_x: Option<u32>,
) -> Result<(), JsError> {
    let mut args = Args::new("layer_norm_backward");
    let (shape, params) = layer_norm_config(&mut args, rows, features, gamma, beta)?;
    let (x, statistics, dy) = (args.read("x", x)?, args.read("statistics", statistics)?, args.read("dy", dy)?);
    let grads = LayerNormGrads {
        gamma: args.write_opt("dGamma", d_gamma)?,
        beta: args.write_opt("dBeta", d_beta)?,
        x: args.write_opt("dX", d_x)?,
    };
    normalization::layer_norm_backward(shape, epsilon, params, x, statistics, dy, grads).map_err(js)
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
