//! The algorithmic reference: a triple loop with `f64` accumulation. Slow,
//! obviously right, and the oracle the blocked GEMM is tested against.

use super::mat::{MatMut, MatRef};

/// `C ← α·A·B + β·C`; like [`super::gemm`], reads no C when `β = 0`.
pub fn gemm_naive(alpha: f32, a: MatRef, b: MatRef, beta: f32, mut c: MatMut) {
    assert_eq!(a.cols(), b.rows(), "inner dimensions differ");
    assert_eq!((c.rows(), c.cols()), (a.rows(), b.cols()), "output shape differs");
    let ldc = c.row_stride();
    let (m, n, k) = (a.rows(), b.cols(), a.cols());
    let out = c.data_mut();
    for i in 0..m {
        for j in 0..n {
            let mut sum = 0.0f64;
            for p in 0..k {
                sum += f64::from(a.at(i, p)) * f64::from(b.at(p, j));
            }
            let value = alpha as f64 * sum;
            let slot = &mut out[i * ldc + j];
            *slot = if beta != 0.0 { (value + beta as f64 * *slot as f64) as f32 } else { value as f32 };
        }
    }
}
