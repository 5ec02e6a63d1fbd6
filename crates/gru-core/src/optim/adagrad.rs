//! Adagrad (Keras 3 `Adagrad`):
//!
//! ```text
//! a ← a + g²              (a starts at initial_accumulator_value, 0.1)
//! p ← p − lr·g / √(a + ε)
//! ```

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdagradConfig {
    pub learning_rate: f32,
    pub epsilon: f32,
}

pub fn adagrad_step(config: &AdagradConfig, param: &mut [f32], grad: &[f32], accumulator: &mut [f32]) {
    let AdagradConfig { learning_rate: lr, epsilon } = *config;
    for ((p, &g), a) in param.iter_mut().zip(grad).zip(accumulator.iter_mut()) {
        *a += g * g;
        *p -= lr * g / (*a + epsilon).sqrt();
    }
}
