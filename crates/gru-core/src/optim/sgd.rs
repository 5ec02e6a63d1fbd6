//! SGD with optional momentum and Nesterov momentum (Keras 3 `SGD`):
//!
//! ```text
//! momentum = 0:   p ← p − lr·g
//! otherwise:      m ← momentum·m − lr·g
//!                 p ← p + m                      (classic)
//!                 p ← p + momentum·m − lr·g      (nesterov)
//! ```

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SgdConfig {
    pub learning_rate: f32,
    pub momentum: f32,
    pub nesterov: bool,
}

/// One step; `velocity` (zeros at the start) is needed when `momentum > 0`.
pub fn sgd_step(config: &SgdConfig, param: &mut [f32], grad: &[f32], velocity: Option<&mut [f32]>) {
    let SgdConfig { learning_rate: lr, momentum, nesterov } = *config;
    match velocity {
        Some(m) if momentum > 0.0 => {
            for ((p, &g), m) in param.iter_mut().zip(grad).zip(m.iter_mut()) {
                *m = momentum * *m - lr * g;
                *p += if nesterov { momentum * *m - lr * g } else { *m };
            }
        }
        _ => param.iter_mut().zip(grad).for_each(|(p, &g)| *p -= lr * g),
    }
}
