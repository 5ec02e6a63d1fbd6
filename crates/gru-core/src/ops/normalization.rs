//! Keras' `LayerNormalization` over the last axis: each row `x` of `F`
//! values becomes `γ⊙x̂ + β` with `x̂ = (x − μ)/√(σ² + ε)`, `μ` and `σ²` the
//! row's mean and (biased) variance. Statistics are summed in `f64`; a row
//! keeps its mean and `1/√(σ² + ε)` for backward, which rebuilds `x̂` from
//! the input rather than keeping a copy of it.

use crate::error::{expect_len, expect_positive, KernelError, KernelResult};

/// Rows of `features` values, each normalized on its own.
#[derive(Clone, Copy, Debug)]
pub struct LayerNormShape {
    pub rows: usize,
    pub features: usize,
}

/// The learned scale `γ` and offset `β`, `[F]` each; `None` where Keras'
/// `scale` or `center` is off (γ = 1, β = 0).
#[derive(Clone, Copy)]
pub struct LayerNormParams<'a> {
    pub gamma: Option<&'a [f32]>,
    pub beta: Option<&'a [f32]>,
}

/// The gradients of [`layer_norm_backward`], written.
pub struct LayerNormGrads<'a> {
    /// `[F]`, with `γ`.
    pub gamma: Option<&'a mut [f32]>,
    /// `[F]`, with `β`.
    pub beta: Option<&'a mut [f32]>,
    /// `[rows, F]`, when the input needs its gradient.
    pub x: Option<&'a mut [f32]>,
}

impl LayerNormShape {
    fn check(&self, op: &'static str, epsilon: f32, x: usize, params: LayerNormParams) -> KernelResult<()> {
        expect_positive(op, "features", self.features)?;
        if !(epsilon > 0.0 && epsilon.is_finite()) {
            return Err(KernelError::new(op, format!("`epsilon` must be a positive number, got {epsilon}")));
        }
        expect_len(op, "x", x, &[self.rows, self.features])?;
        for (name, param) in [("gamma", params.gamma), ("beta", params.beta)] {
            if let Some(p) = param {
                expect_len(op, name, p.len(), &[self.features])?;
            }
        }
        Ok(())
    }
}

/// Forward.
///
/// # Parameters
/// - `x`: `[rows, F]`
/// - `y`: `[rows, F]`, written
/// - `statistics`: `[rows, 2]`, written: each row's mean and `1/√(σ² + ε)`
pub fn layer_norm_forward(
    shape: LayerNormShape,
    epsilon: f32,
    params: LayerNormParams,
    x: &[f32],
    y: &mut [f32],
    statistics: &mut [f32],
) -> KernelResult<()> {
    const OP: &str = "layer_norm_forward";
    shape.check(OP, epsilon, x.len(), params)?;
    expect_len(OP, "y", y.len(), &[shape.rows, shape.features])?;
    expect_len(OP, "statistics", statistics.len(), &[shape.rows, 2])?;
    let features = shape.features;
    let rows = x.chunks_exact(features).zip(y.chunks_exact_mut(features));
    for ((row, out), stats) in rows.zip(statistics.chunks_exact_mut(2)) {
        let n = features as f64;
        let mean = row.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
        let variance = row.iter().map(|&v| (f64::from(v) - mean).powi(2)).sum::<f64>() / n;
        let inv_std = (1.0 / (variance + f64::from(epsilon)).sqrt()) as f32;
        let mean = mean as f32;
        for (j, (o, &v)) in out.iter_mut().zip(row).enumerate() {
            let normalized = (v - mean) * inv_std;
            let scaled = params.gamma.map_or(normalized, |g| normalized * g[j]);
            *o = params.beta.map_or(scaled, |b| scaled + b[j]);
        }
        stats.copy_from_slice(&[mean, inv_std]);
    }
    Ok(())
}

/// Backward from `dy`, given the forward's input and statistics. With
/// `g = dy⊙γ`: `∂γ = Σ_rows dy⊙x̂`, `∂β = Σ_rows dy`, and
/// `∂x = (g − mean(g) − x̂·mean(g⊙x̂)) / √(σ² + ε)` row by row.
///
/// # Parameters
/// - `x`, `dy`: `[rows, F]`
/// - `statistics`: `[rows, 2]`, the forward's
pub fn layer_norm_backward(
    shape: LayerNormShape,
    epsilon: f32,
    params: LayerNormParams,
    x: &[f32],
    statistics: &[f32],
    dy: &[f32],
    grads: LayerNormGrads,
) -> KernelResult<()> {
    const OP: &str = "layer_norm_backward";
    shape.check(OP, epsilon, x.len(), params)?;
    expect_len(OP, "statistics", statistics.len(), &[shape.rows, 2])?;
    expect_len(OP, "dy", dy.len(), &[shape.rows, shape.features])?;
    let LayerNormGrads { gamma: d_gamma, beta: d_beta, x: mut d_x } = grads;
    for (name, grad, param) in [("dGamma", d_gamma.as_deref(), params.gamma), ("dBeta", d_beta.as_deref(), params.beta)]
    {
        match (grad, param) {
            (Some(g), Some(_)) => expect_len(OP, name, g.len(), &[shape.features])?,
            (None, None) => {}
            _ => return Err(KernelError::new(OP, format!("`{name}` must be given exactly when its weight is"))),
        }
    }
    if let Some(d) = d_x.as_deref() {
        expect_len(OP, "dX", d.len(), &[shape.rows, shape.features])?;
    }

    let features = shape.features;
    let mut gamma_sums = vec![0.0f64; if d_gamma.is_some() { features } else { 0 }];
    let mut beta_sums = vec![0.0f64; if d_beta.is_some() { features } else { 0 }];
    let mut scaled = vec![0.0f32; features];
    let mut normalized = vec![0.0f32; features];
    for (r, ((row, d_row), stats)) in
        x.chunks_exact(features).zip(dy.chunks_exact(features)).zip(statistics.chunks_exact(2)).enumerate()
    {
        let (mean, inv_std) = (stats[0], stats[1]);
        for j in 0..features {
            normalized[j] = (row[j] - mean) * inv_std;
            scaled[j] = params.gamma.map_or(d_row[j], |g| d_row[j] * g[j]);
        }
        for (j, sum) in gamma_sums.iter_mut().enumerate() {
            *sum += f64::from(d_row[j]) * f64::from(normalized[j]);
        }
        for (j, sum) in beta_sums.iter_mut().enumerate() {
            *sum += f64::from(d_row[j]);
        }
        if let Some(d_x) = d_x.as_deref_mut() {
            let n = features as f64;
            let mean_scaled = scaled.iter().map(|&g| f64::from(g)).sum::<f64>() / n;
            let mean_projection =
                scaled.iter().zip(&normalized).map(|(&g, &h)| f64::from(g) * f64::from(h)).sum::<f64>() / n;
            let out = &mut d_x[r * features..(r + 1) * features];
            for j in 0..features {
                let centered = f64::from(scaled[j]) - mean_scaled - f64::from(normalized[j]) * mean_projection;
                out[j] = (centered * f64::from(inv_std)) as f32;
            }
        }
    }
    if let Some(d) = d_gamma {
        d.iter_mut().zip(&gamma_sums).for_each(|(d, &s)| *d = s as f32);
    }
    if let Some(d) = d_beta {
        d.iter_mut().zip(&beta_sums).for_each(|(d, &s)| *d = s as f32);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{assert_close, numeric_gradient, TestRng};

    const EPSILON: f32 = 1e-3;

    /// The layer in f64: the oracle for values and finite differences.
    fn forward_f64(x: &[f64], gamma: &[f64], beta: &[f64], features: usize) -> Vec<f64> {
        x.chunks(features)
            .flat_map(|row| {
                let n = features as f64;
                let mean = row.iter().sum::<f64>() / n;
                let variance = row.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
                let std = (variance + f64::from(EPSILON)).sqrt();
                row.iter().enumerate().map(move |(j, v)| (v - mean) / std * gamma[j] + beta[j]).collect::<Vec<_>>()
            })
            .collect()
    }

    #[test]
    fn forward_and_gradients_match_f64_and_finite_differences() {
        let (rows, features) = (5, 7);
        let shape = LayerNormShape { rows, features };
        let mut rng = TestRng::new(3);
        let x = rng.vec(rows * features, -2.0, 2.0);
        let gamma = rng.vec(features, 0.5, 1.5);
        let beta = rng.vec(features, -0.5, 0.5);
        let upstream = rng.vec(rows * features, -1.0, 1.0);
        let to64 = |v: &[f32]| v.iter().map(|&v| f64::from(v)).collect::<Vec<_>>();
        let (x64, gamma64, beta64) = (to64(&x), to64(&gamma), to64(&beta));

        for (with_gamma, with_beta) in [(true, true), (false, true), (true, false), (false, false)] {
            let params =
                LayerNormParams { gamma: with_gamma.then_some(&gamma[..]), beta: with_beta.then_some(&beta[..]) };
            let g64 = if with_gamma { gamma64.clone() } else { vec![1.0; features] };
            let b64 = if with_beta { beta64.clone() } else { vec![0.0; features] };
            let mut y = vec![0.0; rows * features];
            let mut stats = vec![0.0; rows * 2];
            layer_norm_forward(shape, EPSILON, params, &x, &mut y, &mut stats).unwrap();
            assert_close("y", &y, &forward_f64(&x64, &g64, &b64, features), 1e-5, 1e-5);

            let (mut d_gamma, mut d_beta, mut d_x) = (vec![0.0; features], vec![0.0; features], vec![0.0; x.len()]);
            let grads = LayerNormGrads {
                gamma: with_gamma.then_some(&mut d_gamma[..]),
                beta: with_beta.then_some(&mut d_beta[..]),
                x: Some(&mut d_x),
            };
            layer_norm_backward(shape, EPSILON, params, &x, &stats, &upstream, grads).unwrap();
            let loss = |x: &[f64], g: &[f64], b: &[f64]| -> f64 {
                forward_f64(x, g, b, features).iter().zip(&upstream).map(|(y, &u)| y * f64::from(u)).sum()
            };
            let numeric_x = numeric_gradient(&x64, 1e-4, |p| loss(p, &g64, &b64));
            assert_close("dX", &d_x, &numeric_x, 1e-4, 1e-3);
            if with_gamma {
                let numeric = numeric_gradient(&gamma64, 1e-4, |p| loss(&x64, p, &b64));
                assert_close("dGamma", &d_gamma, &numeric, 1e-4, 1e-3);
            }
            if with_beta {
                let numeric = numeric_gradient(&beta64, 1e-4, |p| loss(&x64, &g64, p));
                assert_close("dBeta", &d_beta, &numeric, 1e-4, 1e-3);
            }
        }
    }

    #[test]
    fn exact_values() {
        // [1, 3]: mean 2, variance 1, so x̂ = [−1, 1]/√(1 + ε); then γ, β.
        let shape = LayerNormShape { rows: 1, features: 2 };
        let params = LayerNormParams { gamma: Some(&[2.0, 3.0]), beta: Some(&[0.5, -0.5]) };
        let (mut y, mut stats) = ([0.0; 2], [0.0; 2]);
        layer_norm_forward(shape, EPSILON, params, &[1.0, 3.0], &mut y, &mut stats).unwrap();
        let unit = 1.0 / (1.0 + f64::from(EPSILON)).sqrt();
        assert_close("y", &y, &[0.5 - 2.0 * unit, -0.5 + 3.0 * unit], 1e-6, 0.0);
        assert_close("statistics", &stats, &[2.0, unit], 1e-7, 0.0);
        // A constant row normalizes to 0: only β is left.
        layer_norm_forward(shape, EPSILON, params, &[4.0, 4.0], &mut y, &mut stats).unwrap();
        assert_eq!(y, [0.5, -0.5]);
    }

    #[test]
    fn bad_arguments_are_named() {
        let shape = LayerNormShape { rows: 2, features: 3 };
        let params = LayerNormParams { gamma: Some(&[1.0; 2]), beta: None };
        let (mut y, mut stats) = ([0.0; 6], [0.0; 4]);
        let err = layer_norm_forward(shape, EPSILON, params, &[0.0; 6], &mut y, &mut stats).unwrap_err();
        assert_eq!(err.to_string(), "layer_norm_forward: `gamma` has 2 floats, expected 3 for shape [3]");
        let params = LayerNormParams { gamma: None, beta: None };
        let err = layer_norm_forward(shape, 0.0, params, &[0.0; 6], &mut y, &mut stats).unwrap_err();
        assert_eq!(err.to_string(), "layer_norm_forward: `epsilon` must be a positive number, got 0");
    }
}
