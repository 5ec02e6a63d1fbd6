//! Adam and AdamW (Keras 3 `Adam`, `AdamW`), at step `t` (from 1):
//!
//! ```text
//! p ← p − lr·wd·p                                  (AdamW only, first)
//! m ← m + (1 − β₁)(g − m)
//! v ← v + (1 − β₂)(g² − v)
//! v̂ ← max(v̂, v)                                    (amsgrad)
//! p ← p − lr·√(1 − β₂ᵗ)/(1 − β₁ᵗ) · m / (√v + ε)   (√v̂ with amsgrad)
//! ```

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdamConfig {
    pub learning_rate: f32,
    pub beta1: f32,
    pub beta2: f32,
    pub epsilon: f32,
    /// Decoupled weight decay (AdamW); 0 for Adam.
    pub weight_decay: f32,
}

/// One step; `step` counts from 1. `max_v` is AMSGrad's running maximum.
pub fn adam_step(
    config: &AdamConfig,
    step: u32,
    param: &mut [f32],
    grad: &[f32],
    m: &mut [f32],
    v: &mut [f32],
    max_v: Option<&mut [f32]>,
) {
    let AdamConfig { learning_rate: lr, beta1, beta2, epsilon, weight_decay } = *config;
    let t = step as f64;
    // Bias corrections in f64: β^t underflows gracefully, and 1 − β₂ᵗ for
    // small t loses digits in f32.
    let lr_t = (f64::from(lr) * (1.0 - f64::from(beta2).powf(t)).sqrt() / (1.0 - f64::from(beta1).powf(t))) as f32;
    let decay = lr * weight_decay;
    let (one_minus_b1, one_minus_b2) = (1.0 - beta1, 1.0 - beta2);
    match max_v {
        None => {
            for (((p, &g), m), v) in param.iter_mut().zip(grad).zip(m.iter_mut()).zip(v.iter_mut()) {
                *p -= decay * *p;
                *m += one_minus_b1 * (g - *m);
                *v += one_minus_b2 * (g * g - *v);
                *p -= lr_t * *m / (v.sqrt() + epsilon);
            }
        }
        Some(max_v) => {
            let state = m.iter_mut().zip(v.iter_mut()).zip(max_v.iter_mut());
            for ((p, &g), ((m, v), max_v)) in param.iter_mut().zip(grad).zip(state) {
                *p -= decay * *p;
                *m += one_minus_b1 * (g - *m);
                *v += one_minus_b2 * (g * g - *v);
                *max_v = max_v.max(*v);
                *p -= lr_t * *m / (max_v.sqrt() + epsilon);
            }
        }
    }
}
