//! Losses with Keras' definitions and reduction: the per-sample loss is the
//! mean over the last axis (binary cross-entropy, MSE, MAE) or the sum over
//! classes (categorical cross-entropies); the result is
//! `Σ_n w_n·loss_n / N` over the `N` samples ("sum over batch size"), with
//! `w_n = 1` unless sample weights are given.
//!
//! Predictions are `[N, K]` (`N = B` or `B·T`); targets are `[N, K]`, except
//! for sparse categorical cross-entropy, whose targets are class indices `[N]`.

use crate::error::{expect_len, expect_positive, KernelError, KernelResult};

/// Keras' `backend.epsilon()`: probabilities are clipped to `[ε, 1 − ε]`.
pub const EPSILON: f32 = 1e-7;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Loss {
    BinaryCrossentropy { from_logits: bool },
    CategoricalCrossentropy { from_logits: bool },
    SparseCategoricalCrossentropy { from_logits: bool },
    MeanSquaredError,
    MeanAbsoluteError,
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
            other => {
                return Err(KernelError::new(
                    "loss",
                    format!(
                        "unknown loss '{other}' (expected binaryCrossentropy, categoricalCrossentropy, \
                         sparseCategoricalCrossentropy, meanSquaredError or meanAbsoluteError)"
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
            Loss::MeanSquaredError => {
                elementwise(p, &targets[n * width..(n + 1) * width], scale, g, |d| (d * d, 2.0 * d))
            }
            Loss::MeanAbsoluteError => {
                elementwise(p, &targets[n * width..(n + 1) * width], scale, g, |d| (d.abs(), d.signum_or_zero()))
            }
        };
        total += weight * sample_loss;
    }
    Ok(total / samples as f64)
}

trait SignumOrZero {
    fn signum_or_zero(self) -> f64;
}

impl SignumOrZero for f64 {
    /// The subgradient of |d| that is 0 at 0 (as TensorFlow's `sign`).
    fn signum_or_zero(self) -> f64 {
        if self > 0.0 {
            1.0
        } else if self < 0.0 {
            -1.0
        } else {
            0.0
        }
    }
}

/// Mean over the row of `f(p − y)`; `f` returns the value and its derivative.
fn elementwise(p: &[f32], y: &[f32], scale: f64, grad: Option<&mut [f32]>, f: impl Fn(f64) -> (f64, f64)) -> f64 {
    let k = p.len() as f64;
    let mut sum = 0.0;
    let mut grad = grad;
    for j in 0..p.len() {
        let (value, slope) = f(f64::from(p[j]) - f64::from(y[j]));
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
        assert!(Loss::from_name("hinge", false).unwrap_err().to_string().contains("unknown loss 'hinge'"));
    }
}
