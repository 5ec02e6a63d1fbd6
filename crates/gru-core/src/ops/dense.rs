//! Dense (fully connected) layer over the last axis: `y = act(x·W + b)`.
//!
//! A 3-D input `[B, T, I]` is the 2-D `[B·T, I]`: callers pass `rows = B·T`.

use crate::cancel;
use crate::error::{expect_len, expect_positive, KernelResult};
use crate::gemm::{gemm, GemmWorkspace, MatMut, MatRef, KC, MC};
use crate::ops::activation::Activation;
use crate::ops::start_from_bias;

/// Rows computed between two checks for cancellation (see [`cancel`]): a
/// large batch of sequences (`B·T` rows) can take seconds. A multiple of
/// the GEMM's row block [`MC`] and depth block [`KC`], so the chunks tile
/// and sum exactly as one product over all rows would: the results are the
/// same bit for bit.
const ROWS_PER_CHECK: usize = 15 * 1024;
const _: () = assert!(ROWS_PER_CHECK.is_multiple_of(MC) && ROWS_PER_CHECK.is_multiple_of(KC));

/// Sizes of one dense call.
#[derive(Clone, Copy, Debug)]
pub struct DenseShape {
    /// Rows of the input (`B`, or `B·T` for sequences).
    pub rows: usize,
    /// Input features `I`.
    pub input: usize,
    /// Output units `U`.
    pub units: usize,
}

impl DenseShape {
    fn validate(&self, op: &'static str) -> KernelResult<()> {
        expect_positive(op, "rows", self.rows)?;
        expect_positive(op, "input", self.input)?;
        expect_positive(op, "units", self.units)
    }
}

/// Forward.
///
/// # Parameters
/// - `x`: `[rows, I]`
/// - `kernel`: `[I, U]`
/// - `bias`: `[U]`, or `None` without bias
/// - `y`: `[rows, U]`, written
pub fn dense_forward(
    shape: DenseShape,
    activation: Activation,
    x: &[f32],
    kernel: &[f32],
    bias: Option<&[f32]>,
    y: &mut [f32],
    ws: &mut GemmWorkspace,
) -> KernelResult<()> {
    const OP: &str = "dense_forward";
    let DenseShape { rows, input, units } = shape;
    shape.validate(OP)?;
    expect_len(OP, "x", x.len(), &[rows, input])?;
    expect_len(OP, "kernel", kernel.len(), &[input, units])?;
    if let Some(bias) = bias {
        expect_len(OP, "bias", bias.len(), &[units])?;
    }
    expect_len(OP, "y", y.len(), &[rows, units])?;

    for (x, y) in x.chunks(ROWS_PER_CHECK * input).zip(y.chunks_mut(ROWS_PER_CHECK * units)) {
        cancel::check(OP)?;
        let rows = x.len() / input;
        let beta = start_from_bias(y, units, bias);
        gemm(
            1.0,
            MatRef::row_major(x, rows, input),
            MatRef::row_major(kernel, input, units),
            beta,
            MatMut::row_major(y, rows, units),
            ws,
        );
        activation.forward(y, units);
    }
    Ok(())
}

/// Gradients of a dense layer, written (not accumulated).
pub struct DenseGrads<'a> {
    /// `[I, U]`
    pub kernel: &'a mut [f32],
    /// `[U]`, when the layer has a bias
    pub bias: Option<&'a mut [f32]>,
    /// `[rows, I]`, when the input needs a gradient
    pub x: Option<&'a mut [f32]>,
}

/// Backward.
///
/// # Parameters
/// - `x`: `[rows, I]`, the forward input
/// - `kernel`: `[I, U]`
/// - `y`: `[rows, U]`, the forward output (activation derivatives use it)
/// - `dy`: `[rows, U]`, ∂L/∂y
#[allow(clippy::too_many_arguments)]
pub fn dense_backward(
    shape: DenseShape,
    activation: Activation,
    x: &[f32],
    kernel: &[f32],
    y: &[f32],
    dy: &[f32],
    grads: DenseGrads,
    ws: &mut GemmWorkspace,
) -> KernelResult<()> {
    const OP: &str = "dense_backward";
    let DenseShape { rows, input, units } = shape;
    shape.validate(OP)?;
    expect_len(OP, "x", x.len(), &[rows, input])?;
    expect_len(OP, "kernel", kernel.len(), &[input, units])?;
    expect_len(OP, "y", y.len(), &[rows, units])?;
    expect_len(OP, "dy", dy.len(), &[rows, units])?;
    expect_len(OP, "dkernel", grads.kernel.len(), &[input, units])?;
    if let Some(bias) = &grads.bias {
        expect_len(OP, "dbias", bias.len(), &[units])?;
    }
    if let Some(dx) = &grads.x {
        expect_len(OP, "dx", dx.len(), &[rows, input])?;
    }

    // ∂L/∂(x·W + b), [rows, U]
    let mut da = dy.to_vec();
    activation.backward(y, &mut da, units);

    // ∂W = xᵀ·∂a sums over the rows: chunk by chunk, each added to the last.
    for (chunk, (x, da)) in x.chunks(ROWS_PER_CHECK * input).zip(da.chunks(ROWS_PER_CHECK * units)).enumerate() {
        cancel::check(OP)?;
        let rows = x.len() / input;
        let beta = if chunk == 0 { 0.0 } else { 1.0 };
        let (x, da) = (MatRef::row_major(x, rows, input), MatRef::row_major(da, rows, units));
        gemm(1.0, x.t(), da, beta, MatMut::row_major(grads.kernel, input, units), ws);
    }
    if let Some(dbias) = grads.bias {
        column_sums(&da, units, dbias);
    }
    if let Some(dx) = grads.x {
        for (da, dx) in da.chunks(ROWS_PER_CHECK * units).zip(dx.chunks_mut(ROWS_PER_CHECK * input)) {
            cancel::check(OP)?;
            let rows = da.len() / units;
            let (da, wt) = (MatRef::row_major(da, rows, units), MatRef::row_major(kernel, input, units).t());
            gemm(1.0, da, wt, 0.0, MatMut::row_major(dx, rows, input), ws);
        }
    }
    Ok(())
}

/// `out[j] = Σ_r values[r, j]`, accumulated in f64 so long batches keep
/// float32 precision.
pub fn column_sums(values: &[f32], width: usize, out: &mut [f32]) {
    let mut sums = vec![0.0f64; width];
    for row in values.chunks_exact(width) {
        sums.iter_mut().zip(row).for_each(|(s, &v)| *s += f64::from(v));
    }
    out.iter_mut().zip(&sums).for_each(|(o, &s)| *o = s as f32);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{assert_close, numeric_gradient, to_f64, TestRng};

    fn forward_f64(shape: DenseShape, act: Activation, x: &[f64], w: &[f64], b: &[f64]) -> Vec<f64> {
        let DenseShape { rows, input, units } = shape;
        let mut y = vec![0.0; rows * units];
        for r in 0..rows {
            for u in 0..units {
                y[r * units + u] = b[u] + (0..input).map(|i| x[r * input + i] * w[i * units + u]).sum::<f64>();
            }
            let row = &mut y[r * units..(r + 1) * units];
            match act {
                Activation::Linear => {}
                Activation::Tanh => row.iter_mut().for_each(|v| *v = v.tanh()),
                Activation::Sigmoid => row.iter_mut().for_each(|v| *v = 1.0 / (1.0 + (-*v).exp())),
                Activation::Softmax => {
                    let max = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                    row.iter_mut().for_each(|v| *v = (*v - max).exp());
                    let s: f64 = row.iter().sum();
                    row.iter_mut().for_each(|v| *v /= s);
                }
                _ => unreachable!("not used in this test"),
            }
        }
        y
    }

    #[test]
    fn gradients_match_finite_differences() {
        let shape = DenseShape { rows: 6, input: 5, units: 3 };
        let DenseShape { rows, input, units } = shape;
        for (seed, act) in
            [Activation::Linear, Activation::Tanh, Activation::Sigmoid, Activation::Softmax].into_iter().enumerate()
        {
            let mut rng = TestRng::new(seed as u64 + 11);
            let x = rng.vec(rows * input, -1.0, 1.0);
            let w = rng.vec(input * units, -1.0, 1.0);
            let b = rng.vec(units, -0.5, 0.5);
            let upstream = rng.vec(rows * units, -1.0, 1.0);
            let mut y = vec![0.0; rows * units];
            let mut ws = GemmWorkspace::new();
            dense_forward(shape, act, &x, &w, Some(&b), &mut y, &mut ws).unwrap();
            let (x64, w64, b64) = (to_f64(&x), to_f64(&w), to_f64(&b));
            assert_close("dense forward", &y, &forward_f64(shape, act, &x64, &w64, &b64), 1e-5, 1e-5);

            let (mut dw, mut db, mut dx) = (vec![0.0; w.len()], vec![0.0; b.len()], vec![0.0; x.len()]);
            let grads = DenseGrads { kernel: &mut dw, bias: Some(&mut db), x: Some(&mut dx) };
            dense_backward(shape, act, &x, &w, &y, &upstream, grads, &mut ws).unwrap();
            let loss = |y: Vec<f64>| y.iter().zip(&upstream).map(|(y, &u)| y * f64::from(u)).sum::<f64>();
            let h = 1e-6;
            let num_w = numeric_gradient(&w64, h, |p| loss(forward_f64(shape, act, &x64, p, &b64)));
            let num_b = numeric_gradient(&b64, h, |p| loss(forward_f64(shape, act, &x64, &w64, p)));
            let num_x = numeric_gradient(&x64, h, |p| loss(forward_f64(shape, act, p, &w64, &b64)));
            assert_close(&format!("{act:?} dkernel"), &dw, &num_w, 1e-5, 1e-4);
            assert_close(&format!("{act:?} dbias"), &db, &num_b, 1e-5, 1e-4);
            assert_close(&format!("{act:?} dx"), &dx, &num_x, 1e-5, 1e-4);
        }
    }

    /// Three chunks of rows (the last ragged) give what one product over all
    /// rows gives, bit for bit; a raised cancel word stops the call.
    #[test]
    fn chunks_of_rows_equal_one_product_and_stop_when_cancelled() {
        let shape = DenseShape { rows: 2 * ROWS_PER_CHECK + 37, input: 3, units: 5 };
        let DenseShape { rows, input, units } = shape;
        let mut rng = TestRng::new(3);
        let (x, w, b) =
            (rng.vec(rows * input, -1.0, 1.0), rng.vec(input * units, -1.0, 1.0), rng.vec(units, -0.5, 0.5));
        let dy = rng.vec(rows * units, -1.0, 1.0);
        let mut ws = GemmWorkspace::new();
        let mut y = vec![0.0; rows * units];
        dense_forward(shape, Activation::Tanh, &x, &w, Some(&b), &mut y, &mut ws).unwrap();
        let mut expected_y = vec![0.0; rows * units];
        expected_y.chunks_exact_mut(units).for_each(|row| row.copy_from_slice(&b));
        let (xm, wm) = (MatRef::row_major(&x, rows, input), MatRef::row_major(&w, input, units));
        gemm(1.0, xm, wm, 1.0, MatMut::row_major(&mut expected_y, rows, units), &mut ws);
        Activation::Tanh.forward(&mut expected_y, units);
        assert!(y.iter().zip(&expected_y).all(|(a, e)| a.to_bits() == e.to_bits()), "forward");

        let (mut dw, mut dx) = (vec![0.0; w.len()], vec![0.0; x.len()]);
        let grads = DenseGrads { kernel: &mut dw, bias: None, x: Some(&mut dx) };
        dense_backward(shape, Activation::Tanh, &x, &w, &y, &dy, grads, &mut ws).unwrap();
        let mut da = dy.clone();
        Activation::Tanh.backward(&y, &mut da, units);
        let dam = MatRef::row_major(&da, rows, units);
        let (mut expected_dw, mut expected_dx) = (vec![0.0; w.len()], vec![0.0; x.len()]);
        gemm(1.0, xm.t(), dam, 0.0, MatMut::row_major(&mut expected_dw, input, units), &mut ws);
        gemm(1.0, dam, wm.t(), 0.0, MatMut::row_major(&mut expected_dx, rows, input), &mut ws);
        assert!(dw.iter().zip(&expected_dw).all(|(a, e)| a.to_bits() == e.to_bits()), "dkernel");
        assert!(dx.iter().zip(&expected_dx).all(|(a, e)| a.to_bits() == e.to_bits()), "dx");

        let word: &'static std::sync::atomic::AtomicU32 = Box::leak(Box::new(1.into()));
        cancel::watch(Some(word));
        let err = dense_forward(shape, Activation::Tanh, &x, &w, Some(&b), &mut y, &mut ws).unwrap_err();
        assert_eq!(err.to_string(), "dense_forward: cancelled: the worker running it was asked to stop");
        let grads = DenseGrads { kernel: &mut dw, bias: None, x: None };
        assert!(dense_backward(shape, Activation::Tanh, &x, &w, &y, &dy, grads, &mut ws).is_err());
        cancel::watch(None);
    }

    #[test]
    fn wrong_sizes_are_named() {
        let shape = DenseShape { rows: 2, input: 3, units: 4 };
        let mut y = vec![0.0; 8];
        let err =
            dense_forward(shape, Activation::Linear, &[0.0; 6], &[0.0; 11], None, &mut y, &mut GemmWorkspace::new())
                .unwrap_err();
        assert_eq!(err.to_string(), "dense_forward: `kernel` has 11 floats, expected 12 for shape [3, 4]");
    }
}
