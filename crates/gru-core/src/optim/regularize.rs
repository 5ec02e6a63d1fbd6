//! Weight penalties (Keras' `L1L2` regularizer): `l1·Σ|w| + l2·Σw²` added
//! to the loss, and its gradient `l1·sign(w) + 2·l2·w` to the weights'.

use crate::ops::sign_or_zero;

/// Adds the penalty's gradient to `grad` (when given) and returns the
/// penalty, accumulated in f64. `sign(0) = 0`, as TensorFlow's.
///
/// # Panics
/// If `grad` is given with another length than `weights`.
pub fn l1_l2(weights: &[f32], grad: Option<&mut [f32]>, l1: f32, l2: f32) -> f64 {
    let (l1_64, l2_64) = (f64::from(l1), f64::from(l2));
    let penalty: f64 = weights.iter().map(|&w| l1_64 * f64::from(w).abs() + l2_64 * f64::from(w) * f64::from(w)).sum();
    if let Some(grad) = grad {
        assert_eq!(grad.len(), weights.len(), "l1_l2: the gradient and the weights differ in length");
        for (g, &w) in grad.iter_mut().zip(weights) {
            *g += l1 * sign_or_zero(f64::from(w)) as f32 + 2.0 * l2 * w;
        }
    }
    penalty
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{assert_close, numeric_gradient, to_f32, TestRng};

    #[test]
    fn penalty_and_gradient() {
        // 0.1·(1 + 2) + 0.5·(1 + 4) = 2.8; gradient 0.1·sign + w
        let mut grad = [1.0, 0.0, 0.5];
        let value = l1_l2(&[1.0, -2.0, 0.0], Some(&mut grad), 0.1, 0.5);
        assert!((value - 2.8).abs() < 1e-7, "{value}");
        for (got, want) in grad.iter().zip([2.1, -2.1, 0.5]) {
            assert!((got - want).abs() < 1e-6, "{grad:?}");
        }

        let mut rng = TestRng::new(3);
        let weights: Vec<f32> = rng.vec(12, -1.0, 1.0);
        let mut grad = vec![0.0; 12];
        l1_l2(&weights, Some(&mut grad), 0.03, 0.2);
        let w64: Vec<f64> = weights.iter().map(|&w| f64::from(w)).collect();
        let numeric = numeric_gradient(&w64, 1e-3, |w| l1_l2(&to_f32(w), None, 0.03, 0.2));
        assert_close("l1_l2 gradient", &grad, &numeric, 1e-4, 1e-3);
    }
}
