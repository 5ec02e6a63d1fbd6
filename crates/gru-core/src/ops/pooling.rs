//! Keras' `GlobalAveragePooling1D` and `GlobalMaxPooling1D`: each sequence
//! `[T, F]` reduced over its steps to `[F]`, with masked (padded) steps left
//! out, as Keras' average pooling leaves them out of its mean.

use crate::error::{expect_len, expect_positive, KernelError, KernelResult};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pooling {
    Average,
    Max,
}

impl Pooling {
    pub fn from_name(name: &str) -> KernelResult<Self> {
        match name {
            "average" => Ok(Pooling::Average),
            "max" => Ok(Pooling::Max),
            other => Err(KernelError::new("pooling", format!("unknown pooling '{other}' (expected average or max)"))),
        }
    }
}

/// Sizes of one pooling call: `batch` sequences of `steps` steps of `features`.
#[derive(Clone, Copy, Debug)]
pub struct PoolingShape {
    pub batch: usize,
    pub steps: usize,
    pub features: usize,
}

impl PoolingShape {
    fn check(
        &self,
        op: &'static str,
        x: (&'static str, usize),
        mask: Option<&[f32]>,
        out: (&'static str, usize),
    ) -> KernelResult<()> {
        expect_positive(op, "steps", self.steps)?;
        expect_positive(op, "features", self.features)?;
        expect_len(op, x.0, x.1, &[self.batch, self.steps, self.features])?;
        if let Some(mask) = mask {
            expect_len(op, "mask", mask.len(), &[self.batch, self.steps])?;
        }
        expect_len(op, out.0, out.1, &[self.batch, self.features])
    }
}

/// Whether step `t` of sequence `b` counts (1 in the mask, or no mask).
fn counts(mask: Option<&[f32]>, steps: usize, b: usize, t: usize) -> bool {
    mask.is_none_or(|m| m[b * steps + t] != 0.0)
}

/// Forward: `out[b] = mean` (or `max`) of `x[b, t]` over the steps `t` that
/// count; 0 for a sequence whose every step is masked.
///
/// # Parameters
/// - `x`: `[B, T, F]`
/// - `mask`: `[B, T]`, 0 at padded steps, or `None`
/// - `out`: `[B, F]`, written
pub fn pooling_forward(
    mode: Pooling,
    shape: PoolingShape,
    x: &[f32],
    mask: Option<&[f32]>,
    out: &mut [f32],
) -> KernelResult<()> {
    shape.check("pooling_forward", ("x", x.len()), mask, ("out", out.len()))?;
    let PoolingShape { steps, features, .. } = shape;
    for (b, (sequence, pooled)) in x.chunks_exact(steps * features).zip(out.chunks_exact_mut(features)).enumerate() {
        let mut counted = 0usize;
        let start = if mode == Pooling::Max { f32::NEG_INFINITY } else { 0.0 };
        pooled.fill(start);
        for (t, step) in sequence.chunks_exact(features).enumerate() {
            if !counts(mask, steps, b, t) {
                continue;
            }
            counted += 1;
            match mode {
                Pooling::Average => pooled.iter_mut().zip(step).for_each(|(p, &v)| *p += v),
                // NaN wins, so a NaN in the input is not hidden.
                Pooling::Max => {
                    pooled.iter_mut().zip(step).for_each(|(p, &v)| *p = if v > *p || v.is_nan() { v } else { *p })
                }
            }
        }
        match (mode, counted) {
            (_, 0) => pooled.fill(0.0),
            (Pooling::Average, n) => pooled.iter_mut().for_each(|p| *p /= n as f32),
            (Pooling::Max, _) => {}
        }
    }
    Ok(())
}

/// Backward: `d_x` from `d_out`, written. Average: `d_out / n` at each step
/// that counts. Max: `d_out` shared equally by the counted steps that reach
/// the maximum (TensorFlow's rule for ties); 0 elsewhere.
///
/// # Parameters
/// - `x`, `mask`: the forward's
/// - `out`: the forward's output `[B, F]`
/// - `d_out`: `[B, F]`
/// - `d_x`: `[B, T, F]`, written
#[allow(clippy::too_many_arguments)]
pub fn pooling_backward(
    mode: Pooling,
    shape: PoolingShape,
    x: &[f32],
    mask: Option<&[f32]>,
    out: &[f32],
    d_out: &[f32],
    d_x: &mut [f32],
) -> KernelResult<()> {
    const OP: &str = "pooling_backward";
    shape.check(OP, ("x", x.len()), mask, ("out", out.len()))?;
    shape.check(OP, ("dX", d_x.len()), None, ("dOut", d_out.len()))?;
    let PoolingShape { steps, features, .. } = shape;
    let sequences = x.chunks_exact(steps * features).zip(d_x.chunks_exact_mut(steps * features));
    for (b, (sequence, d_sequence)) in sequences.enumerate() {
        d_sequence.fill(0.0);
        let (pooled, d_pooled) = (&out[b * features..(b + 1) * features], &d_out[b * features..(b + 1) * features]);
        let counted = |t: &usize| counts(mask, steps, b, *t);
        match mode {
            Pooling::Average => {
                let share = 1.0 / (0..steps).filter(counted).count().max(1) as f32;
                for t in (0..steps).filter(counted) {
                    let d_step = &mut d_sequence[t * features..(t + 1) * features];
                    d_step.iter_mut().zip(d_pooled).for_each(|(d, &g)| *d = g * share);
                }
            }
            Pooling::Max => {
                for f in 0..features {
                    let at_max = |t: &usize| counted(t) && sequence[t * features + f] == pooled[f];
                    let ties = (0..steps).filter(at_max).count();
                    for t in (0..steps).filter(at_max) {
                        d_sequence[t * features + f] = d_pooled[f] / ties as f32;
                    }
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHAPE: PoolingShape = PoolingShape { batch: 2, steps: 3, features: 2 };
    const X: [f32; 12] = [1.0, -2.0, 4.0, 0.5, -1.0, 3.0, /* */ 2.0, 2.0, 7.0, -5.0, 2.0, 1.0];

    #[test]
    fn averages_and_maxima_leave_masked_steps_out() {
        let mask = [1.0, 0.0, 1.0, /* */ 0.0, 0.0, 0.0];
        let mut out = [9.0; 4];
        pooling_forward(Pooling::Average, SHAPE, &X, Some(&mask), &mut out).unwrap();
        assert_eq!(out, [0.0, 0.5, 0.0, 0.0]);
        pooling_forward(Pooling::Max, SHAPE, &X, Some(&mask), &mut out).unwrap();
        assert_eq!(out, [1.0, 3.0, 0.0, 0.0]);
        pooling_forward(Pooling::Max, SHAPE, &X, None, &mut out).unwrap();
        assert_eq!(out, [4.0, 3.0, 7.0, 2.0]);
    }

    #[test]
    fn backward_matches_finite_differences() {
        let mask = [1.0, 1.0, 0.0, /* */ 1.0, 1.0, 1.0];
        let d_out = [0.3, -0.7, 1.1, 0.2];
        for mode in [Pooling::Average, Pooling::Max] {
            for mask in [None, Some(&mask[..])] {
                let loss = |x: &[f32]| {
                    let mut out = [0.0; 4];
                    pooling_forward(mode, SHAPE, x, mask, &mut out).unwrap();
                    out.iter().zip(&d_out).map(|(o, g)| f64::from(o * g)).sum::<f64>()
                };
                let mut out = [0.0; 4];
                pooling_forward(mode, SHAPE, &X, mask, &mut out).unwrap();
                let mut d_x = [9.0; 12];
                pooling_backward(mode, SHAPE, &X, mask, &out, &d_out, &mut d_x).unwrap();
                for i in 0..12 {
                    let (mut up, mut down) = (X, X);
                    up[i] += 1e-2;
                    down[i] -= 1e-2;
                    let numeric = (loss(&up) - loss(&down)) / 2e-2;
                    assert!(
                        (numeric - f64::from(d_x[i])).abs() < 1e-4,
                        "{mode:?} {mask:?} x[{i}]: {numeric} vs {}",
                        d_x[i]
                    );
                }
            }
        }
    }

    #[test]
    fn ties_share_the_gradient_and_nan_is_kept() {
        let shape = PoolingShape { batch: 1, steps: 2, features: 1 };
        let (mut out, mut d_x) = ([0.0], [0.0; 2]);
        pooling_forward(Pooling::Max, shape, &[2.0, 2.0], None, &mut out).unwrap();
        pooling_backward(Pooling::Max, shape, &[2.0, 2.0], None, &out, &[1.0], &mut d_x).unwrap();
        assert_eq!(d_x, [0.5, 0.5]);
        pooling_forward(Pooling::Max, shape, &[f32::NAN, 2.0], None, &mut out).unwrap();
        assert!(out[0].is_nan());
    }
}
