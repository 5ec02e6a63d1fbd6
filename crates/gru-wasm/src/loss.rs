//! The losses' entry point.

use crate::args::Args;
use crate::js;
use gru_core::ops::loss::{self, Loss};
use wasm_bindgen::prelude::*;

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
