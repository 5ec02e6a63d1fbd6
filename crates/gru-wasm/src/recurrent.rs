//! The GRU layer's entry points: the cache size, forward and backward
//! through time over a whole batch.

use crate::args::Args;
use crate::{js, with_workspace};
use gru_core::ops::activation::Activation;
use gru_core::ops::gru::{self, GruGrads, GruOptions, GruParams, GruShape, Part, PartCall};
use wasm_bindgen::prelude::*;

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

type Tensor = &'static [f32];

/// What every GRU forward reads: `x`, the weights, the initial state and the mask.
fn read_forward_inputs(
    args: &mut Args,
    x: u32,
    kernel: u32,
    recurrent_kernel: u32,
    bias: Option<u32>,
    initial_state: Option<u32>,
    mask: Option<u32>,
) -> Result<(Tensor, GruParams<'static>, Option<Tensor>, Option<Tensor>), JsError> {
    let x = args.read("x", x)?;
    let params = GruParams {
        kernel: args.read("kernel", kernel)?,
        recurrent_kernel: args.read("recurrentKernel", recurrent_kernel)?,
        bias: args.read_opt("bias", bias)?,
    };
    Ok((x, params, args.read_opt("initialState", initial_state)?, args.read_opt("mask", mask)?))
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
    let (x, params, initial_state, mask) =
        read_forward_inputs(&mut args, x, kernel, recurrent_kernel, bias, initial_state, mask)?;
    let recurrent_mask = args.read_opt("recurrentMask", recurrent_mask)?;
    let output = args.write("output", output)?;
    let cache = args.write_opt("cache", cache)?;
    with_workspace(|ws| {
        gru::gru_forward(shape, &options, &params, x, initial_state, mask, recurrent_mask, output, cache, ws)
    })?
    .map_err(js)
}

/// Floats of the buffer the parts of [`gru_forward_part`] share.
#[wasm_bindgen(js_name = gruExchangeLength)]
pub fn gru_exchange_length(batch: u32, steps: u32, input: u32, units: u32) -> Result<u32, JsError> {
    let shape = GruShape { batch: batch as usize, steps: steps as usize, input: input as usize, units: units as usize };
    gru::gru_exchange_len(shape)
        .and_then(|len| u32::try_from(len).ok())
        .ok_or_else(|| JsError::new("gruExchangeLength: the buffer would not fit in a 32-bit memory"))
}

/// Part `part` of `parts` of an inference forward (`gruForward` without
/// cache or recurrent mask), run on one worker while the other parts run on
/// others over the same `exchange` (`gruExchangeLength` floats, the first
/// three zero) and `output`, each part computing a slice of the units. A
/// part that fails raises a flag in `exchange` that stops the others; whoever
/// runs the parts raises it (the second word, set non-zero, then a notify on
/// the first) when a worker running one dies.
#[allow(clippy::too_many_arguments)]
#[wasm_bindgen(js_name = gruForwardPart)]
pub fn gru_forward_part(
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
    exchange: u32,
    output: u32,
    part: u32,
    parts: u32,
) -> Result<(), JsError> {
    const OP: &str = "gru_forward_part";
    if parts > 1 && !cfg!(target_feature = "atomics") {
        return Err(JsError::new(&format!("{OP}: {parts} parts need the threads build (shared memory)")));
    }
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
    let mut args = Args::new(OP);
    let (x, params, initial_state, mask) =
        read_forward_inputs(&mut args, x, kernel, recurrent_kernel, bias, initial_state, mask)?;
    let exchange = args.shared("exchange", exchange)?;
    let output = args.shared("output", output)?;
    let part = Part { index: part as usize, count: parts as usize };
    let call = PartCall { x, initial_state, mask, part, exchange, output };
    with_workspace(|ws| gru::gru_forward_part(shape, &options, &params, call, ws))?.map_err(js)
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
    })?
    .map_err(js)
}
