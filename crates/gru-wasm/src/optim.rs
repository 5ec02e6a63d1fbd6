//! Optimizer steps and gradient clipping over all of a model's parameter
//! tensors in one call: the lists of offsets line up (params[i], grads[i],
//! and each state list's [i] belong together).

use crate::args::Args;
use gru_core::optim::constrain::{self, NormAxes, NormBounds};
use gru_core::optim::{adagrad, adam, clip, reduce, regularize, rmsprop, sgd};
use wasm_bindgen::prelude::*;

/// Claims a list of tensors, each the same length as `params[i]`.
fn claim_list(
    args: &mut Args,
    name: &'static str,
    offsets: &[u32],
    lengths: &[usize],
) -> Result<Vec<&'static mut [f32]>, JsError> {
    if offsets.len() != lengths.len() {
        return Err(JsError::new(&format!(
            "{}: `{name}` lists {} tensors, `params` {}",
            args.op(),
            offsets.len(),
            lengths.len()
        )));
    }
    offsets
        .iter()
        .zip(lengths)
        .enumerate()
        .map(|(i, (&offset, &len))| {
            let slice = args.write(name, offset)?;
            if slice.len() != len {
                return Err(JsError::new(&format!(
                    "{}: `{name}`[{i}] has {} floats, `params`[{i}] has {len}",
                    args.op(),
                    slice.len()
                )));
            }
            Ok(slice)
        })
        .collect()
}

/// An optional state list: empty when the option that needs it is off.
fn claim_optional_list(
    args: &mut Args,
    name: &'static str,
    offsets: &[u32],
    lengths: &[usize],
    needed: bool,
) -> Result<Option<Vec<&'static mut [f32]>>, JsError> {
    if needed {
        claim_list(args, name, offsets, lengths).map(Some)
    } else if offsets.is_empty() {
        Ok(None)
    } else {
        Err(JsError::new(&format!("{}: `{name}` given but not used with these options", args.op())))
    }
}

/// Claims params and grads; returns them with the params' lengths.
#[allow(clippy::type_complexity)]
fn params_and_grads(
    args: &mut Args,
    params: &[u32],
    grads: &[u32],
) -> Result<(Vec<&'static mut [f32]>, Vec<&'static mut [f32]>, Vec<usize>), JsError> {
    let params: Vec<&'static mut [f32]> = params.iter().map(|&p| args.write("params", p)).collect::<Result<_, _>>()?;
    let lengths: Vec<usize> = params.iter().map(|p| p.len()).collect();
    let grads = claim_list(args, "grads", grads, &lengths)?;
    Ok((params, grads, lengths))
}

/// Clips gradients in place, as Keras does before an update; at most one of
/// the three options may be set. Returns the global norm before clipping.
#[wasm_bindgen(js_name = clipGradients)]
pub fn clip_gradients(
    grads: &[u32],
    clipnorm: Option<f32>,
    clipvalue: Option<f32>,
    global_clipnorm: Option<f32>,
) -> Result<f64, JsError> {
    let mut args = Args::new("clip_gradients");
    let mut tensors: Vec<&'static mut [f32]> =
        grads.iter().map(|&g| args.write("grads", g)).collect::<Result<_, _>>()?;
    let set = [clipnorm, clipvalue, global_clipnorm].iter().filter(|o| o.is_some()).count();
    if set > 1 {
        return Err(JsError::new("clip_gradients: set only one of clipnorm, clipvalue and globalClipnorm"));
    }
    for (name, value) in [("clipnorm", clipnorm), ("clipvalue", clipvalue), ("globalClipnorm", global_clipnorm)] {
        if let Some(v) = value {
            if !(v > 0.0 && v.is_finite()) {
                return Err(JsError::new(&format!("clip_gradients: `{name}` must be a positive number, got {v}")));
            }
        }
    }
    if let Some(max_norm) = global_clipnorm {
        return Ok(clip::clip_by_global_norm(&mut tensors, max_norm));
    }
    let global = tensors.iter().map(|g| clip::norm(g).powi(2)).sum::<f64>().sqrt();
    for g in tensors.iter_mut() {
        if let Some(max_norm) = clipnorm {
            clip::clip_by_norm(g, max_norm);
        }
        if let Some(limit) = clipvalue {
            clip::clip_by_value(g, limit);
        }
    }
    Ok(global)
}

/// The penalty `l1·Σ|w| + l2·Σw²` over `weights`; with `grad`, also adds
/// its gradient there (Keras' `L1L2` regularizer).
#[wasm_bindgen(js_name = regularize)]
pub fn regularize(weights: u32, grad: Option<u32>, l1: f32, l2: f32) -> Result<f64, JsError> {
    for (name, value) in [("l1", l1), ("l2", l2)] {
        if !(value >= 0.0 && value.is_finite()) {
            return Err(JsError::new(&format!("regularize: `{name}` must be a finite number ≥ 0, got {value}")));
        }
    }
    let mut args = Args::new("regularize");
    let w = args.read("weights", weights)?;
    let g = args.write_opt("grad", grad)?;
    if let Some(g) = &g {
        if g.len() != w.len() {
            return Err(JsError::new(&format!("regularize: `grad` has {} floats, the weights {}", g.len(), w.len())));
        }
    }
    Ok(regularize::l1_l2(w, g, l1, l2))
}

/// Rescales the slices of `weights` `[rows, cols]` to bounded L2 norms
/// (Keras' `MaxNorm`, `UnitNorm`, `MinMaxNorm`): a norm per column when
/// summed `over_rows` only (Keras' `axis = 0`), per row `over_cols` only, one
/// over both.
#[wasm_bindgen(js_name = constrainNorms)]
#[allow(clippy::too_many_arguments)]
pub fn constrain_norms(
    weights: u32,
    rows: u32,
    cols: u32,
    over_rows: bool,
    over_cols: bool,
    min: f32,
    max: f32,
    rate: f32,
) -> Result<(), JsError> {
    if !(min >= 0.0 && min <= max && max.is_finite()) {
        return Err(JsError::new(&format!("constrainNorms: needs 0 ≤ min ≤ max < ∞, got min {min}, max {max}")));
    }
    if !(0.0..=1.0).contains(&rate) {
        return Err(JsError::new(&format!("constrainNorms: `rate` must be within [0, 1], got {rate}")));
    }
    let axes = match (over_rows, over_cols) {
        (true, false) => NormAxes::Rows,
        (false, true) => NormAxes::Cols,
        (true, true) => NormAxes::Both,
        (false, false) => return Err(JsError::new("constrainNorms: no axis to sum over")),
    };
    let mut args = Args::new("constrainNorms");
    let w = args.write("weights", weights)?;
    let (rows, cols) = (rows as usize, cols as usize);
    if rows.checked_mul(cols) != Some(w.len()) {
        return Err(JsError::new(&format!(
            "constrainNorms: the weights hold {} floats, not [{rows}, {cols}]",
            w.len()
        )));
    }
    constrain::bound_norms(w, rows, cols, axes, NormBounds { min, max, rate });
    Ok(())
}

/// Zeroes the negative weights (Keras' `NonNeg`).
#[wasm_bindgen(js_name = constrainNonNegative)]
pub fn constrain_non_negative(weights: u32) -> Result<(), JsError> {
    let mut args = Args::new("constrainNonNegative");
    constrain::non_negative(args.write("weights", weights)?);
    Ok(())
}

/// Reduces the gradients of a batch's shares (data-parallel training):
/// `targets[p] = Σ_w coefficients[w] · sources[w·P + p]` for each of the
/// `P = targets.len()` tensors, summed over workers in order.
#[wasm_bindgen(js_name = weightedSum)]
pub fn weighted_sum(targets: &[u32], sources: &[u32], coefficients: &[f32]) -> Result<(), JsError> {
    let mut args = Args::new("weightedSum");
    let count = targets.len();
    if count == 0 || sources.len() != count * coefficients.len() {
        return Err(JsError::new(&format!(
            "weightedSum: {} sources for {count} targets and {} coefficients (need targets × coefficients, at least one)",
            sources.len(),
            coefficients.len()
        )));
    }
    let targets: Vec<&'static mut [f32]> =
        targets.iter().map(|&t| args.write("targets", t)).collect::<Result<_, _>>()?;
    let sources: Vec<&'static [f32]> = sources.iter().map(|&s| args.read("sources", s)).collect::<Result<_, _>>()?;
    for (p, target) in targets.into_iter().enumerate() {
        let parts: Vec<&[f32]> = sources.iter().skip(p).step_by(count).copied().collect();
        reduce::weighted_sum(&parts, coefficients, target).map_err(|e| JsError::new(&e.to_string()))?;
    }
    Ok(())
}

#[wasm_bindgen(js_name = sgdStep)]
pub fn sgd_step(
    learning_rate: f32,
    momentum: f32,
    nesterov: bool,
    params: &[u32],
    grads: &[u32],
    velocities: &[u32],
) -> Result<(), JsError> {
    let mut args = Args::new("sgd_step");
    let (params, grads, lengths) = params_and_grads(&mut args, params, grads)?;
    let velocities = claim_optional_list(&mut args, "velocities", velocities, &lengths, momentum > 0.0)?;
    let config = sgd::SgdConfig { learning_rate, momentum, nesterov };
    let mut velocities = velocities.map(|v| v.into_iter());
    for (p, g) in params.into_iter().zip(grads) {
        sgd::sgd_step(&config, p, g, velocities.as_mut().and_then(|v| v.next()));
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
#[wasm_bindgen(js_name = adamStep)]
pub fn adam_step(
    learning_rate: f32,
    beta1: f32,
    beta2: f32,
    epsilon: f32,
    weight_decay: f32,
    step: u32,
    params: &[u32],
    grads: &[u32],
    m: &[u32],
    v: &[u32],
    max_v: &[u32],
) -> Result<(), JsError> {
    if step == 0 {
        return Err(JsError::new("adam_step: `step` counts from 1"));
    }
    let mut args = Args::new("adam_step");
    let (params, grads, lengths) = params_and_grads(&mut args, params, grads)?;
    let m = claim_list(&mut args, "m", m, &lengths)?;
    let v = claim_list(&mut args, "v", v, &lengths)?;
    let amsgrad = !max_v.is_empty();
    let max_v = claim_optional_list(&mut args, "maxV", max_v, &lengths, amsgrad)?;
    let config = adam::AdamConfig { learning_rate, beta1, beta2, epsilon, weight_decay };
    let mut max_v = max_v.map(|v| v.into_iter());
    for (((p, g), m), v) in params.into_iter().zip(grads).zip(m).zip(v) {
        adam::adam_step(&config, step, p, g, m, v, max_v.as_mut().and_then(|v| v.next()));
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
#[wasm_bindgen(js_name = rmspropStep)]
pub fn rmsprop_step(
    learning_rate: f32,
    rho: f32,
    momentum: f32,
    epsilon: f32,
    centered: bool,
    params: &[u32],
    grads: &[u32],
    mean_squares: &[u32],
    mean_grads: &[u32],
    velocities: &[u32],
) -> Result<(), JsError> {
    let mut args = Args::new("rmsprop_step");
    let (params, grads, lengths) = params_and_grads(&mut args, params, grads)?;
    let mean_squares = claim_list(&mut args, "meanSquares", mean_squares, &lengths)?;
    let mean_grads = claim_optional_list(&mut args, "meanGrads", mean_grads, &lengths, centered)?;
    let velocities = claim_optional_list(&mut args, "velocities", velocities, &lengths, momentum > 0.0)?;
    let config = rmsprop::RmspropConfig { learning_rate, rho, momentum, epsilon, centered };
    let mut mean_grads = mean_grads.map(|v| v.into_iter());
    let mut velocities = velocities.map(|v| v.into_iter());
    for ((p, g), s) in params.into_iter().zip(grads).zip(mean_squares) {
        let a = mean_grads.as_mut().and_then(|v| v.next());
        let u = velocities.as_mut().and_then(|v| v.next());
        rmsprop::rmsprop_step(&config, p, g, s, a, u);
    }
    Ok(())
}

#[wasm_bindgen(js_name = adagradStep)]
pub fn adagrad_step(
    learning_rate: f32,
    epsilon: f32,
    params: &[u32],
    grads: &[u32],
    accumulators: &[u32],
) -> Result<(), JsError> {
    let mut args = Args::new("adagrad_step");
    let (params, grads, lengths) = params_and_grads(&mut args, params, grads)?;
    let accumulators = claim_list(&mut args, "accumulators", accumulators, &lengths)?;
    let config = adagrad::AdagradConfig { learning_rate, epsilon };
    for ((p, g), a) in params.into_iter().zip(grads).zip(accumulators) {
        adagrad::adagrad_step(&config, p, g, a);
    }
    Ok(())
}
