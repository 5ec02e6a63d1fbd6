//! Activations: forward in place, backward from the forward's *output*
//! (every activation here has a derivative expressible through its output,
//! so layers keep outputs, not pre-activations, for backward).

use crate::error::{KernelError, KernelResult};
use crate::ops::{fastmath, keep_nan};

/// Slope of the hard sigmoid: `clamp(0.2·x + 0.5, 0, 1)`, as TensorFlow.js
/// and Keras 2 define it (Keras 3 changed to `relu6(x + 3) / 6`).
pub const HARD_SIGMOID_SLOPE: f32 = 0.2;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Activation {
    Linear,
    Sigmoid,
    Tanh,
    Relu,
    HardSigmoid,
    /// Row-wise over the last axis; only where a whole row is at hand (dense).
    Softmax,
}

impl Activation {
    /// Parses a Keras / TensorFlow.js activation name.
    pub fn from_name(name: &str) -> KernelResult<Self> {
        Ok(match name {
            "linear" => Activation::Linear,
            "sigmoid" => Activation::Sigmoid,
            "tanh" => Activation::Tanh,
            "relu" => Activation::Relu,
            "hardSigmoid" | "hard_sigmoid" => Activation::HardSigmoid,
            "softmax" => Activation::Softmax,
            other => {
                return Err(KernelError::new(
                    "activation",
                    format!(
                        "unknown activation '{other}' (expected linear, sigmoid, tanh, relu, hardSigmoid or softmax)"
                    ),
                ))
            }
        })
    }

    pub fn is_elementwise(self) -> bool {
        self != Activation::Softmax
    }

    /// Applies the activation in place to `values`, rows of `width` floats
    /// (the width matters only for softmax).
    pub fn forward(self, values: &mut [f32], width: usize) {
        match self {
            Activation::Linear => {}
            Activation::Sigmoid => fastmath::sigmoid_in_place(values),
            Activation::Tanh => fastmath::tanh_in_place(values),
            Activation::Relu => values.iter_mut().for_each(|v| *v = relu(*v)),
            Activation::HardSigmoid => values.iter_mut().for_each(|v| *v = hard_sigmoid(*v)),
            Activation::Softmax => values.chunks_exact_mut(width).for_each(softmax_row),
        }
    }

    /// Turns `grad` (∂L/∂output) into ∂L/∂input in place, given the
    /// forward's `output`; rows of `width` floats.
    pub fn backward(self, output: &[f32], grad: &mut [f32], width: usize) {
        debug_assert_eq!(output.len(), grad.len());
        let pairs = grad.iter_mut().zip(output);
        match self {
            Activation::Linear => {}
            Activation::Sigmoid => pairs.for_each(|(g, &y)| *g *= y * (1.0 - y)),
            Activation::Tanh => pairs.for_each(|(g, &y)| *g *= 1.0 - y * y),
            Activation::Relu => pairs.for_each(|(g, &y)| {
                if y <= 0.0 {
                    *g = 0.0
                }
            }),
            Activation::HardSigmoid => {
                pairs.for_each(|(g, &y)| *g *= if y > 0.0 && y < 1.0 { HARD_SIGMOID_SLOPE } else { 0.0 })
            }
            Activation::Softmax => {
                for (g, y) in grad.chunks_exact_mut(width).zip(output.chunks_exact(width)) {
                    // ∂L/∂a_j = y_j (g_j − Σ_k g_k y_k)
                    let dot: f32 = g.iter().zip(y).map(|(g, y)| g * y).sum();
                    g.iter_mut().zip(y).for_each(|(g, &y)| *g = y * (*g - dot));
                }
            }
        }
    }
}

#[inline]
pub fn hard_sigmoid(x: f32) -> f32 {
    keep_nan(x, (HARD_SIGMOID_SLOPE * x + 0.5).clamp(0.0, 1.0))
}

/// `max(x, 0)`, NaN for NaN (as in TensorFlow and PyTorch; `f32::max`
/// would return 0).
#[inline]
pub fn relu(x: f32) -> f32 {
    keep_nan(x, if x < 0.0 { 0.0 } else { x })
}

fn softmax_row(row: &mut [f32]) {
    let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0;
    for v in row.iter_mut() {
        *v = fastmath::exp(*v - max);
        sum += *v;
    }
    let inv = 1.0 / sum;
    row.iter_mut().for_each(|v| *v *= inv);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{assert_close, numeric_gradient, TestRng};

    /// f64 twin of `forward`, the oracle for finite differences.
    fn forward_f64(act: Activation, x: &[f64], width: usize) -> Vec<f64> {
        match act {
            Activation::Linear => x.to_vec(),
            Activation::Sigmoid => x.iter().map(|v| 1.0 / (1.0 + (-v).exp())).collect(),
            Activation::Tanh => x.iter().map(|v| v.tanh()).collect(),
            Activation::Relu => x.iter().map(|v| v.max(0.0)).collect(),
            Activation::HardSigmoid => x.iter().map(|v| (0.2 * v + 0.5).clamp(0.0, 1.0)).collect(),
            Activation::Softmax => x
                .chunks(width)
                .flat_map(|row| {
                    let max = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                    let e: Vec<f64> = row.iter().map(|v| (v - max).exp()).collect();
                    let s: f64 = e.iter().sum();
                    e.into_iter().map(move |v| v / s)
                })
                .collect(),
        }
    }

    #[test]
    fn forward_matches_f64_and_backward_matches_finite_differences() {
        let width = 5;
        let all = [
            Activation::Linear,
            Activation::Sigmoid,
            Activation::Tanh,
            Activation::Relu,
            Activation::HardSigmoid,
            Activation::Softmax,
        ];
        for (seed, act) in all.into_iter().enumerate() {
            let mut rng = TestRng::new(seed as u64);
            // Keep away from the kinks of relu and hard sigmoid, where the
            // finite difference straddles two slopes.
            let x: Vec<f32> = rng
                .vec(4 * width, -4.0, 4.0)
                .into_iter()
                .map(|v| if v.abs() < 0.05 || (v.abs() - 2.5).abs() < 0.05 { v + 0.2 } else { v })
                .collect();
            let upstream = rng.vec(x.len(), -1.0, 1.0);
            let mut y = x.clone();
            act.forward(&mut y, width);
            let x64: Vec<f64> = x.iter().map(|&v| f64::from(v)).collect();
            assert_close(&format!("{act:?} forward"), &y, &forward_f64(act, &x64, width), 1e-6, 1e-6);

            let mut grad = upstream.clone();
            act.backward(&y, &mut grad, width);
            let expected = numeric_gradient(&x64, 1e-6, |p| {
                forward_f64(act, p, width).iter().zip(&upstream).map(|(y, &u)| y * f64::from(u)).sum()
            });
            assert_close(&format!("{act:?} backward"), &grad, &expected, 1e-5, 1e-4);
        }
    }

    #[test]
    fn sigmoid_saturates_without_nan() {
        let mut v = [-1000.0, 1000.0, 0.0, f32::MAX, -f32::MAX];
        Activation::Sigmoid.forward(&mut v, 5);
        assert_eq!(v, [0.0, 1.0, 0.5, 1.0, 0.0]);
        let mut s = [1000.0, 0.0, -1000.0];
        Activation::Softmax.forward(&mut s, 3);
        assert_eq!(s, [1.0, 0.0, 0.0]);
    }

    /// NaN in, NaN out, as in TensorFlow and PyTorch (a diverged model must
    /// fail loudly, not predict numbers): ReLU's `f32::max` returned 0.
    #[test]
    fn nan_passes_through() {
        for act in
            [Activation::Linear, Activation::Sigmoid, Activation::Tanh, Activation::Relu, Activation::HardSigmoid]
        {
            let mut values: Vec<f32> = (0..64).map(|i| i as f32 / 8.0 - 4.0).collect();
            for i in [0, 17, 62] {
                values[i] = f32::NAN;
            }
            act.forward(&mut values, 64);
            assert!([0, 17, 62].iter().all(|&i| values[i].is_nan()), "{act:?}");
            assert_eq!(values.iter().filter(|v| !v.is_nan()).count(), 61, "{act:?}");
        }
    }

    #[test]
    fn names() {
        assert_eq!(Activation::from_name("hardSigmoid"), Ok(Activation::HardSigmoid));
        let err = Activation::from_name("gelu").unwrap_err();
        assert!(err.to_string().contains("unknown activation 'gelu'"), "{err}");
    }
}
