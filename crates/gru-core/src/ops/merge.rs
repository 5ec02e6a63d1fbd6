//! Merging the two directions of a bidirectional layer, forward and
//! backward. The backward direction's sequence comes in processing order
//! (last input step first), so it is reversed in time to line up with the
//! forward one, as Keras' `Bidirectional` does.
//!
//! Shapes: `a`, `b` are `[B, T, H]` (`T = 1` for final states); the merged
//! output is `[B, T, 2H]` for concat, else `[B, T, H]`.

use crate::error::{expect_len, expect_positive, KernelError, KernelResult};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MergeMode {
    Concat,
    Sum,
    Mul,
    Ave,
}

impl MergeMode {
    pub fn from_name(name: &str) -> KernelResult<Self> {
        Ok(match name {
            "concat" => MergeMode::Concat,
            "sum" => MergeMode::Sum,
            "mul" => MergeMode::Mul,
            "ave" => MergeMode::Ave,
            other => {
                return Err(KernelError::new(
                    "merge",
                    format!("unknown mergeMode '{other}' (expected concat, sum, mul or ave)"),
                ))
            }
        })
    }

    fn width(self, units: usize) -> usize {
        if self == MergeMode::Concat {
            2 * units
        } else {
            units
        }
    }
}

/// Sizes of one merge.
#[derive(Clone, Copy, Debug)]
pub struct MergeShape {
    pub batch: usize,
    pub steps: usize,
    pub units: usize,
    /// Read `b` reversed in time.
    pub reverse_b: bool,
}

impl MergeShape {
    fn check(&self, op: &'static str, mode: MergeMode, tensors: &[(&str, usize, bool)]) -> KernelResult<()> {
        expect_positive(op, "batch", self.batch)?;
        expect_positive(op, "steps", self.steps)?;
        expect_positive(op, "units", self.units)?;
        for &(name, len, merged) in tensors {
            let width = if merged { mode.width(self.units) } else { self.units };
            expect_len(op, name, len, &[self.batch, self.steps, width])?;
        }
        Ok(())
    }

    /// Row of `b` that lines up with row `(batch, step)` of `a`.
    fn b_row(&self, batch: usize, step: usize) -> usize {
        batch * self.steps + if self.reverse_b { self.steps - 1 - step } else { step }
    }
}

/// `out = merge(a, b)`.
pub fn merge_forward(mode: MergeMode, shape: MergeShape, a: &[f32], b: &[f32], out: &mut [f32]) -> KernelResult<()> {
    shape.check("merge_forward", mode, &[("a", a.len(), false), ("b", b.len(), false), ("out", out.len(), true)])?;
    let (h, w) = (shape.units, mode.width(shape.units));
    for batch in 0..shape.batch {
        for step in 0..shape.steps {
            let row = batch * shape.steps + step;
            let (a, b) = (&a[row * h..(row + 1) * h], &b[shape.b_row(batch, step) * h..][..h]);
            let out = &mut out[row * w..(row + 1) * w];
            match mode {
                MergeMode::Concat => {
                    out[..h].copy_from_slice(a);
                    out[h..].copy_from_slice(b);
                }
                MergeMode::Sum => out.iter_mut().zip(a.iter().zip(b)).for_each(|(o, (x, y))| *o = x + y),
                MergeMode::Mul => out.iter_mut().zip(a.iter().zip(b)).for_each(|(o, (x, y))| *o = x * y),
                MergeMode::Ave => out.iter_mut().zip(a.iter().zip(b)).for_each(|(o, (x, y))| *o = 0.5 * (x + y)),
            }
        }
    }
    Ok(())
}

/// `d_a`, `d_b` from `d_out` (and, for `mul`, the forward's `a` and `b`).
#[allow(clippy::too_many_arguments)]
pub fn merge_backward(
    mode: MergeMode,
    shape: MergeShape,
    a: &[f32],
    b: &[f32],
    d_out: &[f32],
    d_a: &mut [f32],
    d_b: &mut [f32],
) -> KernelResult<()> {
    shape.check(
        "merge_backward",
        mode,
        &[
            ("a", a.len(), false),
            ("b", b.len(), false),
            ("dOut", d_out.len(), true),
            ("dA", d_a.len(), false),
            ("dB", d_b.len(), false),
        ],
    )?;
    let (h, w) = (shape.units, mode.width(shape.units));
    for batch in 0..shape.batch {
        for step in 0..shape.steps {
            let row = batch * shape.steps + step;
            let b_row = shape.b_row(batch, step);
            let g = &d_out[row * w..(row + 1) * w];
            let da = &mut d_a[row * h..(row + 1) * h];
            let db = &mut d_b[b_row * h..(b_row + 1) * h];
            match mode {
                MergeMode::Concat => {
                    da.copy_from_slice(&g[..h]);
                    db.copy_from_slice(&g[h..]);
                }
                MergeMode::Sum => {
                    da.copy_from_slice(g);
                    db.copy_from_slice(g);
                }
                MergeMode::Ave => {
                    da.iter_mut().zip(g).for_each(|(d, &g)| *d = 0.5 * g);
                    db.iter_mut().zip(g).for_each(|(d, &g)| *d = 0.5 * g);
                }
                MergeMode::Mul => {
                    let (a, b) = (&a[row * h..(row + 1) * h], &b[b_row * h..(b_row + 1) * h]);
                    for j in 0..h {
                        da[j] = g[j] * b[j];
                        db[j] = g[j] * a[j];
                    }
                }
            }
        }
    }
    Ok(())
}

/// `out = a + b`, element-wise.
pub fn add(a: &[f32], b: &[f32], out: &mut [f32]) -> KernelResult<()> {
    expect_len("add", "b", b.len(), &[a.len()])?;
    expect_len("add", "out", out.len(), &[a.len()])?;
    out.iter_mut().zip(a.iter().zip(b)).for_each(|(o, (x, y))| *o = x + y);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{assert_close, numeric_gradient, to_f64, TestRng};

    #[test]
    fn forward_by_hand() {
        // B = 1, T = 2, H = 1: a = [1, 2], b = [10, 20] read reversed → [20, 10].
        let shape = MergeShape { batch: 1, steps: 2, units: 1, reverse_b: true };
        let (a, b) = ([1.0, 2.0], [10.0, 20.0]);
        let mut out = [0.0; 4];
        merge_forward(MergeMode::Concat, shape, &a, &b, &mut out).unwrap();
        assert_eq!(out, [1.0, 20.0, 2.0, 10.0]);
        let mut out = [0.0; 2];
        for (mode, expected) in
            [(MergeMode::Sum, [21.0, 12.0]), (MergeMode::Mul, [20.0, 20.0]), (MergeMode::Ave, [10.5, 6.0])]
        {
            merge_forward(mode, shape, &a, &b, &mut out).unwrap();
            assert_eq!(out, expected, "{mode:?}");
        }
    }

    #[test]
    fn backward_matches_finite_differences() {
        let shape = MergeShape { batch: 2, steps: 3, units: 4, reverse_b: true };
        let n = 2 * 3 * 4;
        let mut rng = TestRng::new(1);
        let (a, b) = (rng.vec(n, -1.0, 1.0), rng.vec(n, -1.0, 1.0));
        for mode in [MergeMode::Concat, MergeMode::Sum, MergeMode::Mul, MergeMode::Ave] {
            let up = rng.vec(n * mode.width(4) / 4, -1.0, 1.0);
            let (mut da, mut db) = (vec![0.0; n], vec![0.0; n]);
            merge_backward(mode, shape, &a, &b, &up, &mut da, &mut db).unwrap();
            let loss = |a: &[f64], b: &[f64]| {
                let mut out = vec![0.0f32; up.len()];
                let (a, b): (Vec<f32>, Vec<f32>) =
                    (a.iter().map(|&v| v as f32).collect(), b.iter().map(|&v| v as f32).collect());
                merge_forward(mode, shape, &a, &b, &mut out).unwrap();
                out.iter().zip(&up).map(|(o, u)| f64::from(*o) * f64::from(*u)).sum::<f64>()
            };
            let (a64, b64) = (to_f64(&a), to_f64(&b));
            assert_close(&format!("{mode:?} dA"), &da, &numeric_gradient(&a64, 1e-3, |p| loss(p, &b64)), 1e-4, 1e-3);
            assert_close(&format!("{mode:?} dB"), &db, &numeric_gradient(&b64, 1e-3, |p| loss(&a64, p)), 1e-4, 1e-3);
        }
    }
}
