//! Inverted dropout: a kept unit is scaled by `1 / (1 − rate)` at training
//! time so that inference needs no change (Keras' `Dropout`).

use crate::error::{expect_len, KernelError, KernelResult};
use crate::init::SplitMix64;

/// Fills `mask` with `1 / (1 − rate)` (kept, probability `1 − rate`) or 0.
pub fn dropout_mask(mask: &mut [f32], rate: f32, seed: u64) -> KernelResult<()> {
    if !(0.0..1.0).contains(&rate) {
        return Err(KernelError::new("dropout_mask", format!("`rate` must be in [0, 1), got {rate}")));
    }
    let keep = 1.0 / (1.0 - rate);
    let mut rng = SplitMix64::new(seed);
    for m in mask.iter_mut() {
        *m = if rng.next_f64() >= f64::from(rate) { keep } else { 0.0 };
    }
    Ok(())
}

/// `out = a ⊙ b`
pub fn multiply(a: &[f32], b: &[f32], out: &mut [f32]) -> KernelResult<()> {
    expect_len("multiply", "b", b.len(), &[a.len()])?;
    expect_len("multiply", "out", out.len(), &[a.len()])?;
    out.iter_mut().zip(a.iter().zip(b)).for_each(|(o, (x, y))| *o = x * y);
    Ok(())
}

/// `out[b, t, :] = x[b, t, :] ⊙ mask[b, :]`: one mask per sequence, the same
/// at every step (a recurrent layer's input dropout).
///
/// # Parameters
/// - `x`, `out`: `[B, T, I]`
/// - `mask`: `[B, I]`
pub fn multiply_per_sequence(x: &[f32], mask: &[f32], batch: usize, out: &mut [f32]) -> KernelResult<()> {
    const OP: &str = "multiply_per_sequence";
    if batch == 0 || !mask.len().is_multiple_of(batch) {
        return Err(KernelError::new(OP, format!("`mask` has {} floats, not a multiple of batch {batch}", mask.len())));
    }
    let width = mask.len() / batch;
    let steps = if width == 0 { 0 } else { x.len() / (batch * width) };
    expect_len(OP, "x", x.len(), &[batch, steps, width])?;
    expect_len(OP, "out", out.len(), &[batch, steps, width])?;
    for (b, (xs, outs)) in x.chunks_exact(steps * width).zip(out.chunks_exact_mut(steps * width)).enumerate() {
        let m = &mask[b * width..(b + 1) * width];
        for (xr, or) in xs.chunks_exact(width).zip(outs.chunks_exact_mut(width)) {
            or.iter_mut().zip(xr.iter().zip(m)).for_each(|(o, (x, m))| *o = x * m);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mask_keeps_the_right_fraction_scaled() {
        let mut mask = vec![0.0; 100_000];
        dropout_mask(&mut mask, 0.3, 7).unwrap();
        let kept = mask.iter().filter(|&&m| m != 0.0).count() as f64 / mask.len() as f64;
        assert!((kept - 0.7).abs() < 0.01, "{kept}");
        assert!(mask.iter().all(|&m| m == 0.0 || (m - 1.0 / 0.7).abs() < 1e-6));
        // Expectation preserved: mean of the mask ≈ 1.
        let mean = mask.iter().map(|&m| f64::from(m)).sum::<f64>() / mask.len() as f64;
        assert!((mean - 1.0).abs() < 0.02, "{mean}");
        let mut again = vec![0.0; 100_000];
        dropout_mask(&mut again, 0.3, 7).unwrap();
        assert_eq!(mask, again);
        assert!(dropout_mask(&mut again, 1.0, 7).is_err());
    }

    #[test]
    fn per_sequence_mask_repeats_over_steps() {
        // B = 2, T = 2, I = 2
        let x = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0];
        let mask = [0.0, 2.0, 1.0, 0.0];
        let mut out = [0.0; 8];
        multiply_per_sequence(&x, &mask, 2, &mut out).unwrap();
        assert_eq!(out, [0.0, 4.0, 0.0, 8.0, 5.0, 0.0, 7.0, 0.0]);
    }
}
