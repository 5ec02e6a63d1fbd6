//! RMSprop (Keras 3 `RMSprop`; TensorFlow.js' `rmsprop` computes the same):
//!
//! ```text
//! s ← ρ·s + (1 − ρ)·g²
//! a ← ρ·a + (1 − ρ)·g                 (centered)
//! Δ ← lr·g / √(s − a² + ε)            (centered; else √(s + ε))
//! u ← momentum·u + Δ;  p ← p − u      (momentum > 0; else p ← p − Δ)
//! ```

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RmspropConfig {
    pub learning_rate: f32,
    pub rho: f32,
    pub momentum: f32,
    pub epsilon: f32,
    pub centered: bool,
}

/// One step. `mean_grad` is needed when centered, `velocity` when
/// `momentum > 0`.
pub fn rmsprop_step(
    config: &RmspropConfig,
    param: &mut [f32],
    grad: &[f32],
    mean_square: &mut [f32],
    mut mean_grad: Option<&mut [f32]>,
    mut velocity: Option<&mut [f32]>,
) {
    let RmspropConfig { learning_rate: lr, rho, momentum, epsilon, centered } = *config;
    for i in 0..param.len() {
        let g = grad[i];
        let s = rho * mean_square[i] + (1.0 - rho) * g * g;
        mean_square[i] = s;
        let denominator = match mean_grad.as_deref_mut() {
            Some(a) if centered => {
                let mean = rho * a[i] + (1.0 - rho) * g;
                a[i] = mean;
                s - mean * mean + epsilon
            }
            _ => s + epsilon,
        };
        let increment = lr * g / denominator.sqrt();
        match velocity.as_deref_mut() {
            Some(u) if momentum > 0.0 => {
                u[i] = momentum * u[i] + increment;
                param[i] -= u[i];
            }
            _ => param[i] -= increment,
        }
    }
}
