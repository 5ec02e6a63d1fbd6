//! Keras' `Masking`: a time step whose features all equal `mask_value` is
//! padding. Its mask is 0 and its features become 0; later layers skip it.

use crate::error::{expect_len, expect_positive, KernelResult};

/// Forward.
///
/// # Parameters
/// - `x`: `[rows, width]` (`rows = B·T`)
/// - `y`: `[rows, width]`, written: `x` with padded rows zeroed
/// - `mask`: `[rows]`, written: 1 for real steps, 0 for padding
pub fn masking_forward(x: &[f32], width: usize, mask_value: f32, y: &mut [f32], mask: &mut [f32]) -> KernelResult<()> {
    const OP: &str = "masking_forward";
    expect_positive(OP, "width", width)?;
    let rows = x.len() / width;
    expect_len(OP, "x", x.len(), &[rows, width])?;
    expect_len(OP, "y", y.len(), &[rows, width])?;
    expect_len(OP, "mask", mask.len(), &[rows])?;
    for ((row, out), m) in x.chunks_exact(width).zip(y.chunks_exact_mut(width)).zip(mask.iter_mut()) {
        let real = row.iter().any(|&v| v != mask_value);
        *m = if real { 1.0 } else { 0.0 };
        if real {
            out.copy_from_slice(row);
        } else {
            out.fill(0.0);
        }
    }
    Ok(())
}

/// `out[r, :] = values[r, :] · mask[r]`: the backward of masking, and of any
/// row-wise gate.
pub fn scale_rows(values: &[f32], mask: &[f32], out: &mut [f32]) -> KernelResult<()> {
    const OP: &str = "scale_rows";
    let rows = mask.len();
    expect_positive(OP, "rows", rows)?;
    let width = values.len() / rows;
    expect_len(OP, "values", values.len(), &[rows, width])?;
    expect_len(OP, "out", out.len(), &[rows, width])?;
    if width == 0 {
        return Ok(());
    }
    for ((row, out), &m) in values.chunks_exact(width).zip(out.chunks_exact_mut(width)).zip(mask) {
        out.iter_mut().zip(row).for_each(|(o, &v)| *o = v * m);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_rows_equal_to_the_mask_value() {
        let x = [0.0, 0.0, 1.0, 0.0, -1.0, -1.0, -1.0, 2.0];
        let (mut y, mut mask) = ([9.0; 8], [9.0; 4]);
        masking_forward(&x, 2, -1.0, &mut y, &mut mask).unwrap();
        assert_eq!(mask, [1.0, 1.0, 0.0, 1.0]);
        assert_eq!(y, [0.0, 0.0, 1.0, 0.0, 0.0, 0.0, -1.0, 2.0]);
        let mut dx = [0.0; 8];
        scale_rows(&[1.0; 8], &mask, &mut dx).unwrap();
        assert_eq!(dx, [1.0, 1.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0]);
        let err = masking_forward(&x, 3, 0.0, &mut y, &mut mask).unwrap_err();
        assert!(err.to_string().contains("`x` has 8 floats, expected 6"), "{err}");
    }
}
