//! Gradient reduction for data-parallel training: each worker computes the
//! gradient of its share of a batch, and the batch's gradient is their
//! weighted sum, taken in a fixed order so that runs are reproducible.

use crate::error::{KernelError, KernelResult};

/// `out[j] = Σ_w coefficients[w] · parts[w][j]`, summed in the order of
/// `parts` (w = 0, 1, …), so the result does not depend on which worker
/// finished first.
///
/// # Parameters
/// - `parts`: one gradient per worker, each `[n]`
/// - `coefficients`: `[workers]`, each worker's share of the batch's loss
/// - `out`: `[n]`
pub fn weighted_sum(parts: &[&[f32]], coefficients: &[f32], out: &mut [f32]) -> KernelResult<()> {
    const OP: &str = "weightedSum";
    if parts.len() != coefficients.len() || parts.is_empty() {
        return Err(KernelError::new(
            OP,
            format!(
                "{} parts and {} coefficients: need as many of each, at least one",
                parts.len(),
                coefficients.len()
            ),
        ));
    }
    if let Some((w, part)) = parts.iter().enumerate().find(|(_, p)| p.len() != out.len()) {
        return Err(KernelError::new(OP, format!("part {w} has {} floats, `out` has {}", part.len(), out.len())));
    }
    let (first, rest) = (parts[0], &parts[1..]);
    let c0 = coefficients[0];
    out.iter_mut().zip(first).for_each(|(o, &g)| *o = c0 * g);
    for (part, &c) in rest.iter().zip(&coefficients[1..]) {
        out.iter_mut().zip(part.iter()).for_each(|(o, &g)| *o += c * g);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_in_order_with_coefficients() {
        let a = [1.0, 2.0, 3.0];
        let b = [10.0, 20.0, 30.0];
        let mut out = [f32::NAN; 3];
        weighted_sum(&[&a, &b], &[0.25, 0.75], &mut out).unwrap();
        assert_eq!(out, [7.75, 15.5, 23.25]);
    }

    #[test]
    fn one_part_with_unit_coefficient_is_a_copy() {
        let a = [1.5, -2.25, 1e-30];
        let mut out = [0.0; 3];
        weighted_sum(&[&a], &[1.0], &mut out).unwrap();
        assert_eq!(out, a);
    }

    #[test]
    fn refuses_mismatched_lengths() {
        let mut out = [0.0; 2];
        let err = weighted_sum(&[&[1.0, 2.0], &[1.0]], &[0.5, 0.5], &mut out).unwrap_err();
        assert!(err.to_string().contains("part 1 has 1 floats"), "{err}");
        assert!(weighted_sum(&[], &[], &mut out).is_err());
    }
}
