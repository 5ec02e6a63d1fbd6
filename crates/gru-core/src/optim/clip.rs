//! Gradient clipping as Keras 3 applies it before an update: by each
//! tensor's norm (`clipnorm`), by the norm of all gradients together
//! (`global_clipnorm`), or element-wise (`clipvalue`).

use crate::ops::keep_nan;

/// Euclidean norm, accumulated in f64.
pub fn norm(values: &[f32]) -> f64 {
    values.iter().map(|&v| f64::from(v) * f64::from(v)).sum::<f64>().sqrt()
}

/// Scales `grad` so its norm is at most `max_norm`.
pub fn clip_by_norm(grad: &mut [f32], max_norm: f32) {
    scale_to(grad, norm(grad), max_norm);
}

/// Scales all `grads` together so their joint norm is at most `max_norm`;
/// returns that norm before clipping.
pub fn clip_by_global_norm(grads: &mut [&mut [f32]], max_norm: f32) -> f64 {
    let global = grads.iter().map(|g| norm(g).powi(2)).sum::<f64>().sqrt();
    for g in grads.iter_mut() {
        scale_to(g, global, max_norm);
    }
    global
}

fn scale_to(grad: &mut [f32], current: f64, max_norm: f32) {
    if current > f64::from(max_norm) {
        let scale = (f64::from(max_norm) / current) as f32;
        grad.iter_mut().for_each(|g| *g *= scale);
    }
}

/// Clamps every element to `[−limit, limit]`; NaN stays NaN.
pub fn clip_by_value(grad: &mut [f32], limit: f32) {
    grad.iter_mut().for_each(|g| *g = keep_nan(*g, g.clamp(-limit, limit)));
}
