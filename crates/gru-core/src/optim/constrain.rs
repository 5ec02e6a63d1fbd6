//! Weight constraints (Keras' `MaxNorm`, `UnitNorm`, `MinMaxNorm`,
//! `NonNeg`): projections applied to a weight after each optimizer update.
//!
//! The norm constraints rescale each slice of the weight to a bounded L2
//! norm: with `n` the slice's norm, `w ← w · desired / (ε + n)` where
//! `desired = rate · clip(n, min, max) + (1 − rate) · n` and `ε = 1e-7`
//! (Keras' `backend.epsilon()`). `MaxNorm(m)` is `min = 0, max = m, rate = 1`;
//! `UnitNorm` is `min = max = 1, rate = 1`.

/// Keras' fuzz factor, added to a norm before dividing by it.
pub const EPSILON: f32 = 1e-7;

/// The bounds of a norm constraint (see the module's formula).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct NormBounds {
    pub min: f32,
    pub max: f32,
    pub rate: f32,
}

/// Which axes of a `[rows, cols]` weight a norm sums over: Keras' `axis`.
/// A 1-D weight is one row, summed over both.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NormAxes {
    /// `axis = 0`: one norm per column (per output unit of a kernel).
    Rows,
    /// `axis = 1` (or −1 of a matrix): one norm per row.
    Cols,
    /// `axis = [0, 1]`: one norm over the whole weight.
    Both,
}

/// Rescales each slice of `weights` `[rows, cols]` (row-major) that `axes`
/// names to the norm `bounds` allow. Squares are summed in f64.
///
/// # Panics
/// If `weights` does not hold `rows · cols` values.
pub fn bound_norms(weights: &mut [f32], rows: usize, cols: usize, axes: NormAxes, bounds: NormBounds) {
    assert_eq!(weights.len(), rows * cols, "bound_norms: the weights are not [{rows}, {cols}]");
    let scale = |sum_of_squares: f64| {
        let norm = sum_of_squares.sqrt() as f32;
        let desired = bounds.rate * norm.clamp(bounds.min, bounds.max) + (1.0 - bounds.rate) * norm;
        desired / (EPSILON + norm)
    };
    match axes {
        NormAxes::Both => {
            let factor = scale(weights.iter().map(|&w| f64::from(w) * f64::from(w)).sum());
            weights.iter_mut().for_each(|w| *w *= factor);
        }
        NormAxes::Cols => {
            for row in weights.chunks_exact_mut(cols) {
                let factor = scale(row.iter().map(|&w| f64::from(w) * f64::from(w)).sum());
                row.iter_mut().for_each(|w| *w *= factor);
            }
        }
        NormAxes::Rows => {
            let mut sums = vec![0.0f64; cols];
            for row in weights.chunks_exact(cols) {
                for (sum, &w) in sums.iter_mut().zip(row) {
                    *sum += f64::from(w) * f64::from(w);
                }
            }
            let factors: Vec<f32> = sums.into_iter().map(scale).collect();
            for row in weights.chunks_exact_mut(cols) {
                for (w, &factor) in row.iter_mut().zip(&factors) {
                    *w *= factor;
                }
            }
        }
    }
}

/// Zeroes the negative weights (Keras' `NonNeg`: `w · (w ≥ 0)`, so a NaN
/// stays NaN).
pub fn non_negative(weights: &mut [f32]) {
    for w in weights {
        *w *= f32::from(*w >= 0.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAX_NORM_2: NormBounds = NormBounds { min: 0.0, max: 2.0, rate: 1.0 };

    fn close(got: &[f32], want: &[f32]) {
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() <= 1e-6 * w.abs().max(1.0), "got {got:?}, want {want:?}");
        }
    }

    #[test]
    fn max_norm_per_column_shrinks_only_long_columns() {
        // Columns [3, 4] (norm 5) and [0.6, 0.8] (norm 1), as a [2, 2] kernel.
        let mut w = [3.0, 0.6, 4.0, 0.8];
        bound_norms(&mut w, 2, 2, NormAxes::Rows, MAX_NORM_2);
        let shrink = 2.0 / (5.0 + EPSILON);
        let keep = 1.0 / (1.0 + EPSILON);
        close(&w, &[3.0 * shrink, 0.6 * keep, 4.0 * shrink, 0.8 * keep]);
    }

    #[test]
    fn axes_choose_the_slices() {
        let bounds = NormBounds { min: 1.0, max: 1.0, rate: 1.0 };
        let mut per_row = [3.0, 4.0, 0.0, 2.0];
        bound_norms(&mut per_row, 2, 2, NormAxes::Cols, bounds);
        close(&per_row, &[0.6, 0.8, 0.0, 1.0]);

        let mut whole = [1.0, 2.0, 2.0, 4.0]; // norm 5
        bound_norms(&mut whole, 2, 2, NormAxes::Both, bounds);
        close(&whole, &[0.2, 0.4, 0.4, 0.8]);
    }

    #[test]
    fn min_max_norm_moves_a_fraction_of_the_way() {
        // Norm 0.5 below min 1: rate 0.25 gives 0.25·1 + 0.75·0.5 = 0.625.
        let bounds = NormBounds { min: 1.0, max: 3.0, rate: 0.25 };
        let mut w = [0.3, 0.4];
        bound_norms(&mut w, 1, 2, NormAxes::Both, bounds);
        let factor = 0.625 / (0.5 + EPSILON);
        close(&w, &[0.3 * factor, 0.4 * factor]);
    }

    #[test]
    fn a_zero_slice_stays_zero() {
        let mut w = [0.0, 0.0, 1.0, 0.0];
        bound_norms(&mut w, 2, 2, NormAxes::Rows, NormBounds { min: 1.0, max: 1.0, rate: 1.0 });
        close(&w, &[0.0, 0.0, 1.0 / (1.0 + EPSILON), 0.0]);
    }

    #[test]
    fn non_negative_zeroes_negatives_and_keeps_nan() {
        let mut w = [1.5, -2.0, 0.0, f32::NAN];
        non_negative(&mut w);
        assert_eq!(&w[..3], &[1.5, 0.0, 0.0]);
        assert!(w[3].is_nan());
    }
}
