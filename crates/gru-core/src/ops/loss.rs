//! Losses with Keras' definitions and reduction: the per-sample loss is the
//! mean over the last axis (binary cross-entropy, MSE, MAE, MAPE, MSLE,
//! Huber, log-cosh, Poisson, hinge, squared hinge) or a sum over it
//! (categorical cross-entropies, Kullback–Leibler divergence, categorical
//! hinge, cosine similarity); the result is
//! `Σ_n w_n·loss_n / N` over the `N` samples ("sum over batch size"), with
//! `w_n = 1` unless sample weights are given.
//!
//! Predictions are `[N, K]` (`N = B` or `B·T`); targets are `[N, K]`, except
//! for sparse categorical cross-entropy, whose targets are class indices `[N]`.

use crate::error::{expect_len, expect_positive, KernelError, KernelResult};
use crate::ops::sign_or_zero;

/// Keras' `backend.epsilon()`: probabilities are clipped to `[ε, 1 − ε]`.
pub const EPSILON: f32 = 1e-7;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Loss {
    BinaryCrossentropy {
        from_logits: bool,
    },
    CategoricalCrossentropy {
        from_logits: bool,
    },
    SparseCategoricalCrossentropy {
        from_logits: bool,
    },
    MeanSquaredError,
    MeanAbsoluteError,
    MeanAbsolutePercentageError,
    MeanSquaredLogarithmicError,
    /// Keras' `huber` (`Huber(delta=1)`): squared within 1 of the target, linear beyond.
    Huber,
    LogCosh,
    Poisson,
    KullbackLeiblerDivergence,
    /// `max(1 − y·p, 0)`, targets ±1 (see [`hinge_label`]).
    Hinge,
    /// `max(1 − y·p, 0)²`, targets ±1 (see [`hinge_label`]).
    SquaredHinge,
    /// `max(1 + max_j (1 − y_j)·p_j − Σ_j y_j·p_j, 0)` per sample, one-hot targets.
    CategoricalHinge,
    /// `−Σ_j ŷ_j·p̂_j` per sample, `v̂` being `v` over its L2 norm (Keras'
    /// `cosine_similarity`, TensorFlow.js' `cosineProximity`).
    CosineSimilarity,
}

impl Loss {
    /// Parses a Keras / TensorFlow.js loss name.
    pub fn from_name(name: &str, from_logits: bool) -> KernelResult<Self> {
        Ok(match name {
            "binaryCrossentropy" | "binary_crossentropy" => Loss::BinaryCrossentropy { from_logits },
            "categoricalCrossentropy" | "categorical_crossentropy" => Loss::CategoricalCrossentropy { from_logits },
            "sparseCategoricalCrossentropy" | "sparse_categorical_crossentropy" => {
                Loss::SparseCategoricalCrossentropy { from_logits }
            }
            "meanSquaredError" | "mean_squared_error" | "mse" => Loss::MeanSquaredError,
            "meanAbsoluteError" | "mean_absolute_error" | "mae" => Loss::MeanAbsoluteError,
            "meanAbsolutePercentageError" | "mean_absolute_percentage_error" | "mape" => {
                Loss::MeanAbsolutePercentageError
            }
            "meanSquaredLogarithmicError" | "mean_squared_logarithmic_error" | "msle" => {
                Loss::MeanSquaredLogarithmicError
            }
            "huber" | "huber_loss" => Loss::Huber,
            "logcosh" | "log_cosh" => Loss::LogCosh,
            "poisson" => Loss::Poisson,
            "kullbackLeiblerDivergence" | "kullback_leibler_divergence" | "kl_divergence" | "kld" => {
                Loss::KullbackLeiblerDivergence
            }
            "hinge" => Loss::Hinge,
            "squaredHinge" | "squared_hinge" => Loss::SquaredHinge,
            "categoricalHinge" | "categorical_hinge" => Loss::CategoricalHinge,
            "cosineSimilarity" | "cosine_similarity" | "cosineProximity" | "cosine_proximity" => Loss::CosineSimilarity,
            other => {
                return Err(KernelError::new(
                    "loss",
                    format!(
                        "unknown loss '{other}' (expected binaryCrossentropy, categoricalCrossentropy, \
                         sparseCategoricalCrossentropy, meanSquaredError, meanAbsoluteError, \
                         meanAbsolutePercentageError, meanSquaredLogarithmicError, huber, logcosh, poisson, \
                         kullbackLeiblerDivergence, hinge, squaredHinge, categoricalHinge or cosineSimilarity)"
                    ),
                ))
            }
        })
    }

    fn is_sparse(self) -> bool {
        matches!(self, Loss::SparseCategoricalCrossentropy { .. })
    }
}

/// The loss value and, when `grad` is given, ∂loss/∂predictions (`[N, K]`,
/// written).
///
/// # Parameters
/// - `predictions`: `[N, K]`
/// - `targets`: `[N, K]`, or `[N]` class indices for the sparse loss
/// - `sample_weights`: `[N]`, or `None`
pub fn loss_forward_backward(
    loss: Loss,
    samples: usize,
    width: usize,
    predictions: &[f32],
    targets: &[f32],
    sample_weights: Option<&[f32]>,
    mut grad: Option<&mut [f32]>,
) -> KernelResult<f64> {
    const OP: &str = "loss";
    expect_positive(OP, "samples", samples)?;
    expect_positive(OP, "width", width)?;
    expect_len(OP, "predictions", predictions.len(), &[samples, width])?;
    if loss.is_sparse() {
        expect_len(OP, "targets", targets.len(), &[samples])?;
    } else {
        expect_len(OP, "targets", targets.len(), &[samples, width])?;
    }
    if let Some(w) = sample_weights {
        expect_len(OP, "sampleWeights", w.len(), &[samples])?;
    }
    if let Some(g) = &grad {
        expect_len(OP, "grad", g.len(), &[samples, width])?;
    }

    let mut total = 0.0f64;
    for n in 0..samples {
        let weight = sample_weights.map_or(1.0, |w| f64::from(w[n]));
        let p = &predictions[n * width..(n + 1) * width];
        // Scale of this sample's gradient: w_n / N.
        let scale = weight / samples as f64;
        let g = grad.as_deref_mut().map(|g| &mut g[n * width..(n + 1) * width]);
        let sample_loss = match loss {
            Loss::BinaryCrossentropy { from_logits } => {
                binary_crossentropy(p, &targets[n * width..(n + 1) * width], from_logits, scale, g)
            }
            Loss::CategoricalCrossentropy { from_logits } => {
                categorical_crossentropy(p, Target::Dense(&targets[n * width..(n + 1) * width]), from_logits, scale, g)
            }
            Loss::SparseCategoricalCrossentropy { from_logits } => {
                let label = targets[n];
                if !(label >= 0.0 && label < width as f32 && label.fract() == 0.0) {
                    return Err(KernelError::new(
                        OP,
                        format!("`targets`[{n}] = {label} is not a class index in [0, {width})"),
                    ));
                }
                categorical_crossentropy(p, Target::Index(label as usize), from_logits, scale, g)
            }
            Loss::KullbackLeiblerDivergence => {
                kullback_leibler_divergence(p, &targets[n * width..(n + 1) * width], scale, g)
            }
            Loss::CategoricalHinge => categorical_hinge(p, &targets[n * width..(n + 1) * width], scale, g),
            Loss::CosineSimilarity => cosine_similarity(p, &targets[n * width..(n + 1) * width], scale, g),
            elementwise_loss => elementwise(p, &targets[n * width..(n + 1) * width], scale, g, |p, y| {
                elementwise_value_and_slope(elementwise_loss, p, y)
            }),
        };
        total += weight * sample_loss;
    }
    Ok(total / samples as f64)
}

/// A loss averaged over the last axis, of one prediction `p` and its target
/// `y`: the value and its derivative in `p` (Keras' formulas, ε its
/// `backend.epsilon()`).
fn elementwise_value_and_slope(loss: Loss, p: f64, y: f64) -> (f64, f64) {
    let eps = f64::from(EPSILON);
    let d = p - y;
    match loss {
        Loss::MeanSquaredError => (d * d, 2.0 * d),
        Loss::MeanAbsoluteError => (d.abs(), sign_or_zero(d)),
        // 100·|p − y| / max(|y|, ε)
        Loss::MeanAbsolutePercentageError => {
            let denominator = y.abs().max(eps);
            (100.0 * d.abs() / denominator, 100.0 * sign_or_zero(d) / denominator)
        }
        // (log(max(p, ε) + 1) − log(max(y, ε) + 1))², no gradient where p is clipped
        Loss::MeanSquaredLogarithmicError => {
            let gap = p.max(eps).ln_1p() - y.max(eps).ln_1p();
            (gap * gap, if p > eps { 2.0 * gap / (p + 1.0) } else { 0.0 })
        }
        // ½d² for |d| ≤ 1, |d| − ½ beyond
        Loss::Huber => {
            if d.abs() <= 1.0 {
                (0.5 * d * d, d)
            } else {
                (d.abs() - 0.5, sign_or_zero(d))
            }
        }
        // log cosh d = |d| + log(1 + e^(−2|d|)) − log 2, without overflow
        Loss::LogCosh => {
            let a = d.abs();
            (a + (-2.0 * a).exp().ln_1p() - std::f64::consts::LN_2, d.tanh())
        }
        // p − y·log(p + ε)
        Loss::Poisson => (p - y * (p + eps).ln(), 1.0 - y / (p + eps)),
        // Keras' `maximum(m, 0)`, whose gradient takes the tie m = 0 to m.
        Loss::Hinge => {
            let (t, margin) = hinge_margin(p, y);
            (margin.max(0.0), if margin >= 0.0 { -t } else { 0.0 })
        }
        Loss::SquaredHinge => {
            let (t, margin) = hinge_margin(p, y);
            let active = margin.max(0.0);
            (active * active, -2.0 * active * t)
        }
        Loss::BinaryCrossentropy { .. }
        | Loss::CategoricalCrossentropy { .. }
        | Loss::SparseCategoricalCrossentropy { .. }
        | Loss::KullbackLeiblerDivergence
        | Loss::CategoricalHinge
        | Loss::CosineSimilarity => unreachable!("{loss:?} is not averaged element by element"),
    }
}

/// A hinge loss' target as ±1: a target of 0 counts as −1, any other is
/// taken as it is. Keras converts 0/1 targets so when every target of the
/// batch is 0 or 1 (and then 1 stays 1): the same, except in a batch that
/// mixes 0 with other values, where Keras leaves the 0 (whose loss is then
/// 1 whatever the prediction). Element by element, a sample's loss does
/// not depend on the batch it is in, nor on how workers split the batch.
/// TensorFlow.js converts none: ±1 targets mean the same in all three.
fn hinge_label(y: f64) -> f64 {
    if y == 0.0 {
        -1.0
    } else {
        y
    }
}

/// `(t, 1 − t·p)` with `t` the ±1 target.
fn hinge_margin(p: f64, y: f64) -> (f64, f64) {
    let t = hinge_label(y);
    (t, 1.0 - t * p)
}

/// Mean over the row of `f(p, y)`; `f` returns the value and its derivative in `p`.
fn elementwise(p: &[f32], y: &[f32], scale: f64, grad: Option<&mut [f32]>, f: impl Fn(f64, f64) -> (f64, f64)) -> f64 {
    let k = p.len() as f64;
    let mut sum = 0.0;
    let mut grad = grad;
    for j in 0..p.len() {
        let (value, slope) = f(f64::from(p[j]), f64::from(y[j]));
        sum += value;
        if let Some(g) = grad.as_deref_mut() {
            g[j] = (scale * slope / k) as f32;
        }
    }
    sum / k
}

/// Keras: `−mean(y·log(p) + (1 − y)·log(1 − p))` with `p` clipped to
/// `[ε, 1 − ε]` (no gradient where clipped); from logits `x`, the stable form
/// `max(x, 0) − x·y + log(1 + e^−|x|)` with gradient `σ(x) − y`.
fn binary_crossentropy(p: &[f32], y: &[f32], from_logits: bool, scale: f64, grad: Option<&mut [f32]>) -> f64 {
    let k = p.len() as f64;
    let eps = f64::from(EPSILON);
    let mut sum = 0.0;
    let mut grad = grad;
    for j in 0..p.len() {
        let (x, t) = (f64::from(p[j]), f64::from(y[j]));
        let (value, slope) = if from_logits {
            let value = x.max(0.0) - x * t + (-x.abs()).exp().ln_1p();
            (value, 1.0 / (1.0 + (-x).exp()) - t)
        } else {
            let clipped = x.clamp(eps, 1.0 - eps);
            let value = -(t * clipped.ln() + (1.0 - t) * (1.0 - clipped).ln());
            let slope = if x > eps && x < 1.0 - eps { -t / clipped + (1.0 - t) / (1.0 - clipped) } else { 0.0 };
            (value, slope)
        };
        sum += value;
        if let Some(g) = grad.as_deref_mut() {
            g[j] = (scale * slope / k) as f32;
        }
    }
    sum / k
}

/// Keras: `Σ y·log(y / p)` over the row, `y` and `p` clipped to `[ε, 1]` (no
/// gradient where `p` is clipped).
fn kullback_leibler_divergence(p: &[f32], y: &[f32], scale: f64, grad: Option<&mut [f32]>) -> f64 {
    let eps = f64::from(EPSILON);
    let mut sum = 0.0;
    let mut grad = grad;
    for j in 0..p.len() {
        let (x, t) = (f64::from(p[j]), f64::from(y[j]).clamp(eps, 1.0));
        let clipped = x.clamp(eps, 1.0);
        sum += t * (t / clipped).ln();
        if let Some(g) = grad.as_deref_mut() {
            g[j] = (if x > eps && x < 1.0 { -scale * t / clipped } else { 0.0 }) as f32;
        }
    }
    sum
}

/// Keras: `max(1 + neg − pos, 0)` with `pos = Σ y·p` and `neg = max((1 − y)·p)`
/// over the row. As TensorFlow's `reduce_max`, the gradient of `neg` is
/// shared equally among the entries that reach the maximum; as its
/// `maximum`, a loss of exactly 0 still passes the gradient.
fn categorical_hinge(p: &[f32], y: &[f32], scale: f64, grad: Option<&mut [f32]>) -> f64 {
    let other = |j: usize| (1.0 - f64::from(y[j])) * f64::from(p[j]);
    let positive: f64 = p.iter().zip(y).map(|(&p, &y)| f64::from(p) * f64::from(y)).sum();
    let negative = (0..p.len()).map(other).fold(f64::NEG_INFINITY, f64::max);
    let margin = 1.0 + negative - positive;
    if let Some(g) = grad {
        let active = margin >= 0.0;
        let ties = (0..p.len()).filter(|&j| other(j) == negative).count() as f64;
        for (j, g) in g.iter_mut().enumerate() {
            let t = f64::from(y[j]);
            let from_max = if other(j) == negative { (1.0 - t) / ties } else { 0.0 };
            *g = if active { (scale * (from_max - t)) as f32 } else { 0.0 };
        }
    }
    margin.max(0.0)
}

/// The L2 norm's floor in [`cosine_similarity`]: a squared norm below this
/// counts as this (Keras' and TensorFlow.js' `l2_normalize`, with ε).
const SQUARED_NORM_FLOOR: f64 = EPSILON as f64;

/// Keras: `−Σ (y / ‖y‖)·(p / ‖p‖)` over the row, each `‖v‖²` at least ε
/// (so a zero vector has similarity 0). With `s = Σ ŷ·p` and `n = ‖p‖`,
/// `∂/∂p_j = −ŷ_j / n + s·p_j / n³` (the second term vanishes where the
/// floor holds `n`).
fn cosine_similarity(p: &[f32], y: &[f32], scale: f64, grad: Option<&mut [f32]>) -> f64 {
    let squared_norm = |v: &[f32]| v.iter().map(|&v| f64::from(v) * f64::from(v)).sum::<f64>();
    let (p_squared, y_squared) = (squared_norm(p), squared_norm(y));
    let (p_norm, y_norm) = (p_squared.max(SQUARED_NORM_FLOOR).sqrt(), y_squared.max(SQUARED_NORM_FLOOR).sqrt());
    let projection: f64 = p.iter().zip(y).map(|(&p, &y)| f64::from(p) * f64::from(y) / y_norm).sum();
    if let Some(g) = grad {
        let through_norm = if p_squared >= SQUARED_NORM_FLOOR { projection / (p_norm * p_norm * p_norm) } else { 0.0 };
        for (j, g) in g.iter_mut().enumerate() {
            let unit_target = f64::from(y[j]) / y_norm;
            *g = (scale * (-unit_target / p_norm + through_norm * f64::from(p[j]))) as f32;
        }
    }
    -projection / p_norm
}

enum Target<'a> {
    Dense(&'a [f32]),
    Index(usize),
}

impl Target<'_> {
    fn at(&self, j: usize) -> f64 {
        match self {
            Target::Dense(y) => f64::from(y[j]),
            Target::Index(i) => f64::from(u8::from(*i == j)),
        }
    }
}

/// Keras: `−Σ y·log(clip(p / Σp, ε, 1 − ε))`; from logits, `−Σ y·log_softmax(x)`
/// with gradient `softmax(x)·Σy − y`.
fn categorical_crossentropy(p: &[f32], y: Target, from_logits: bool, scale: f64, grad: Option<&mut [f32]>) -> f64 {
    let k = p.len();
    let mut grad = grad;
    if from_logits {
        let max = p.iter().map(|&v| f64::from(v)).fold(f64::NEG_INFINITY, f64::max);
        let log_sum = p.iter().map(|&v| (f64::from(v) - max).exp()).sum::<f64>().ln();
        let y_sum: f64 = (0..k).map(|j| y.at(j)).sum();
        let mut value = 0.0;
        for j in 0..k {
            let log_softmax = f64::from(p[j]) - max - log_sum;
            value -= y.at(j) * log_softmax;
            if let Some(g) = grad.as_deref_mut() {
                g[j] = (scale * (log_softmax.exp() * y_sum - y.at(j))) as f32;
            }
        }
        return value;
    }
    let eps = f64::from(EPSILON);
    let total: f64 = p.iter().map(|&v| f64::from(v)).sum();
    let mut value = 0.0;
    // ∂L/∂q_j for q = p / Σp, then through the normalisation:
    // ∂L/∂p_j = (g_j − Σ_k g_k q_k) / Σp.
    let mut dot = 0.0;
    for j in 0..k {
        let q = f64::from(p[j]) / total;
        let clipped = q.clamp(eps, 1.0 - eps);
        value -= y.at(j) * clipped.ln();
        let gq = if q > eps && q < 1.0 - eps { -y.at(j) / clipped } else { 0.0 };
        dot += gq * q;
        if let Some(g) = grad.as_deref_mut() {
            g[j] = gq as f32;
        }
    }
    if let Some(g) = grad {
        for v in g.iter_mut() {
            *v = (scale * (f64::from(*v) - dot) / total) as f32;
        }
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{assert_close, numeric_gradient, to_f32, TestRng};

    /// Checks the gradient against central differences of the loss itself
    /// (the loss is computed in f64, so its differences are accurate).
    fn check_gradient(loss: Loss, predictions: &[f32], targets: &[f32], weights: Option<&[f32]>, width: usize) {
        let samples = predictions.len() / width;
        let mut grad = vec![0.0; predictions.len()];
        loss_forward_backward(loss, samples, width, predictions, targets, weights, Some(&mut grad)).unwrap();
        let p64: Vec<f64> = predictions.iter().map(|&v| f64::from(v)).collect();
        let numeric = numeric_gradient(&p64, 1e-3, |p| {
            // f32 inputs: probe with steps that are exact in f32.
            loss_forward_backward(loss, samples, width, &to_f32(p), targets, weights, None).unwrap()
        });
        assert_close(&format!("{loss:?} gradient"), &grad, &numeric, 1e-4, 2e-3);
    }

    #[test]
    fn gradients_match_finite_differences() {
        let mut rng = TestRng::new(5);
        let width = 4;
        let probs: Vec<f32> = rng.vec(3 * width, 0.05, 0.95);
        let logits: Vec<f32> = rng.vec(3 * width, -3.0, 3.0);
        let binary: Vec<f32> = (0..3 * width).map(|i| (i % 3 == 0) as u8 as f32).collect();
        let one_hot: Vec<f32> = (0..3 * width).map(|i| (i % width == i / width) as u8 as f32).collect();
        let labels = [0.0, 1.0, 3.0];
        let weights = [0.5, 2.0, 1.0];
        for w in [None, Some(&weights[..])] {
            check_gradient(Loss::BinaryCrossentropy { from_logits: false }, &probs, &binary, w, width);
            check_gradient(Loss::BinaryCrossentropy { from_logits: true }, &logits, &binary, w, width);
            check_gradient(Loss::CategoricalCrossentropy { from_logits: false }, &probs, &one_hot, w, width);
            check_gradient(Loss::CategoricalCrossentropy { from_logits: true }, &logits, &one_hot, w, width);
            check_gradient(Loss::SparseCategoricalCrossentropy { from_logits: false }, &probs, &labels, w, width);
            check_gradient(Loss::SparseCategoricalCrossentropy { from_logits: true }, &logits, &labels, w, width);
            check_gradient(Loss::MeanSquaredError, &logits, &probs, w, width);
            check_gradient(Loss::MeanAbsoluteError, &logits, &probs, w, width);
            check_gradient(Loss::MeanAbsolutePercentageError, &logits, &probs, w, width);
            check_gradient(Loss::MeanSquaredLogarithmicError, &probs, &logits, w, width);
            // Both sides of Huber's knee at |p − y| = 1.
            check_gradient(Loss::Huber, &logits, &probs, w, width);
            check_gradient(Loss::LogCosh, &logits, &probs, w, width);
            check_gradient(Loss::Poisson, &probs, &binary, w, width);
            check_gradient(
                Loss::KullbackLeiblerDivergence,
                &probs,
                &probs.iter().rev().copied().collect::<Vec<_>>(),
                w,
                width,
            );
            // 0/1 and ±1 targets, margins on both sides of the hinge.
            let signs: Vec<f32> = binary.iter().map(|&b| 2.0 * b - 1.0).collect();
            for targets in [&binary, &signs] {
                check_gradient(Loss::Hinge, &logits, targets, w, width);
                check_gradient(Loss::SquaredHinge, &logits, targets, w, width);
            }
            check_gradient(Loss::CategoricalHinge, &probs, &one_hot, w, width);
            check_gradient(Loss::CategoricalHinge, &logits, &one_hot, w, width);
            check_gradient(Loss::CosineSimilarity, &logits, &probs, w, width);
        }
    }

    #[test]
    fn exact_values() {
        // -mean(log 0.8, log 0.6) for p = [0.8, 0.4], y = [1, 0]
        let bce = loss_forward_backward(
            Loss::BinaryCrossentropy { from_logits: false },
            1,
            2,
            &[0.8, 0.4],
            &[1.0, 0.0],
            None,
            None,
        )
        .unwrap();
        assert!((bce - -(0.8f64.ln() + 0.6f64.ln()) / 2.0).abs() < 1e-7, "{bce}");
        // ((1 - 0)^2 + (2 - 4)^2) / 2 = 2.5, and |.| gives 1.5
        let mse = loss_forward_backward(Loss::MeanSquaredError, 1, 2, &[1.0, 2.0], &[0.0, 4.0], None, None).unwrap();
        assert_eq!(mse, 2.5);
        let mae = loss_forward_backward(Loss::MeanAbsoluteError, 1, 2, &[1.0, 2.0], &[0.0, 4.0], None, None).unwrap();
        assert_eq!(mae, 1.5);
        // Sparse and one-hot agree: -log(0.7)
        let sparse = loss_forward_backward(
            Loss::SparseCategoricalCrossentropy { from_logits: false },
            1,
            3,
            &[0.1, 0.7, 0.2],
            &[1.0],
            None,
            None,
        )
        .unwrap();
        assert!((sparse - -(0.7f64.ln())).abs() < 1e-6, "{sparse}");

        let value = |loss, p: &[f32], y: &[f32]| loss_forward_backward(loss, 1, p.len(), p, y, None, None).unwrap();
        // 100·(|1 − 2|/2 + |3 − 4|/4) / 2 = 37.5
        assert_eq!(value(Loss::MeanAbsolutePercentageError, &[1.0, 3.0], &[2.0, 4.0]), 37.5);
        // (log 2 − log 4)² = log² 2, over one value
        let msle = value(Loss::MeanSquaredLogarithmicError, &[1.0], &[3.0]);
        assert!((msle - 2f64.ln().powi(2)).abs() < 1e-12, "{msle}");
        // ½·0.5² inside the knee, 3 − ½ beyond: (0.125 + 2.5) / 2
        assert_eq!(value(Loss::Huber, &[0.5, -3.0], &[0.0, 0.0]), 1.3125);
        let log_cosh = value(Loss::LogCosh, &[2.0, -30.0], &[0.0, 0.0]);
        assert!((log_cosh - (2f64.cosh().ln() + 30f64.cosh().ln()) / 2.0).abs() < 1e-12, "{log_cosh}");
        // 2 − 3·log 2 (ε aside)
        let poisson = value(Loss::Poisson, &[2.0], &[3.0]);
        assert!((poisson - (2.0 - 3.0 * 2f64.ln())).abs() < 1e-6, "{poisson}");
        // 0.5·log(0.5 / 0.25) + 0.5·log(0.5 / 0.75)
        let kld = value(Loss::KullbackLeiblerDivergence, &[0.25, 0.75], &[0.5, 0.5]);
        assert!((kld - 0.5 * (2f64.ln() + (2.0f64 / 3.0).ln())).abs() < 1e-7, "{kld}");
        // (max(1 − 0.5, 0) + max(1 − 2, 0)) / 2, a 0 target counting as −1
        assert_eq!(value(Loss::Hinge, &[0.5, -2.0], &[1.0, 0.0]), 0.25);
        assert_eq!(value(Loss::Hinge, &[0.5, -2.0], &[1.0, -1.0]), 0.25);
        assert_eq!(value(Loss::SquaredHinge, &[0.5, -2.0], &[1.0, 0.0]), 0.125);
        // 1 + max(0.2, 0.5, 0) − 0.3, and 0 past the margin
        let categorical_hinge = value(Loss::CategoricalHinge, &[0.2, 0.5, 0.3], &[0.0, 0.0, 1.0]);
        assert!((categorical_hinge - 1.2).abs() < 1e-7, "{categorical_hinge}");
        assert_eq!(value(Loss::CategoricalHinge, &[-1.0, 0.0, 1.5], &[0.0, 0.0, 1.0]), 0.0);
        // Keras' examples: orthogonal 0, parallel −1, opposite 1; a zero
        // vector has similarity 0.
        assert_eq!(value(Loss::CosineSimilarity, &[1.0, 0.0], &[0.0, 1.0]), 0.0);
        assert!((value(Loss::CosineSimilarity, &[1.0, 1.0], &[2.0, 2.0]) + 1.0).abs() < 1e-12);
        assert!((value(Loss::CosineSimilarity, &[-1.0, -1.0], &[1.0, 1.0]) - 1.0).abs() < 1e-12);
        assert_eq!(value(Loss::CosineSimilarity, &[0.0, 0.0], &[1.0, 1.0]), 0.0);
    }

    /// Where entries of `(1 − y)·p` tie for the maximum, each takes an equal
    /// share of its gradient (TensorFlow's `reduce_max`).
    #[test]
    fn categorical_hinge_shares_ties() {
        let mut grad = [0.0; 3];
        loss_forward_backward(Loss::CategoricalHinge, 1, 3, &[0.4, 0.4, 0.2], &[0.0, 0.0, 1.0], None, Some(&mut grad))
            .unwrap();
        assert_eq!(grad, [0.5, 0.5, -1.0]);
    }

    #[test]
    fn saturated_inputs_stay_finite() {
        // Clipping keeps log(0) away; logits far out stay exact.
        let clipped =
            loss_forward_backward(Loss::BinaryCrossentropy { from_logits: false }, 1, 1, &[0.0], &[1.0], None, None)
                .unwrap();
        assert!((clipped - -(1e-7f64).ln()).abs() < 1e-3, "{clipped}");
        let mut grad = [0.0];
        let big = loss_forward_backward(
            Loss::BinaryCrossentropy { from_logits: true },
            1,
            1,
            &[-200.0],
            &[1.0],
            None,
            Some(&mut grad),
        )
        .unwrap();
        assert!((big - 200.0).abs() < 1e-9, "{big}");
        assert_eq!(grad, [-1.0]);
    }

    #[test]
    fn bad_labels_are_named() {
        let err = loss_forward_backward(
            Loss::SparseCategoricalCrossentropy { from_logits: false },
            2,
            3,
            &[0.3; 6],
            &[1.0, 3.0],
            None,
            None,
        )
        .unwrap_err();
        assert_eq!(err.to_string(), "loss: `targets`[1] = 3 is not a class index in [0, 3)");
        assert!(Loss::from_name("focal", false).unwrap_err().to_string().contains("unknown loss 'focal'"));
    }
}
