//! Layers and losses, each with its forward and backward side by side.

pub mod activation;
pub mod dense;
pub mod dropout;
pub mod embedding;
pub mod fastmath;
pub mod gru;
pub mod loss;
pub mod masking;
pub mod merge;
pub mod normalization;
pub mod pooling;

/// `value`, a clamp of `x`, made NaN when `x` is NaN. A clamp written as
/// comparisons (or `f32::clamp`) keeps NaN, but where it vectorises in the
/// relaxed-SIMD builds LLVM turns it into `f32x4.relaxed_min/max`, which on
/// x86 return the bound instead: a model whose weights went NaN would then
/// predict numbers and train on instead of failing. So those builds check;
/// the others, whose clamps keep NaN already, pay nothing.
#[inline(always)]
pub fn keep_nan(x: f32, value: f32) -> f32 {
    if cfg!(target_feature = "relaxed-simd") && x.is_nan() {
        x
    } else {
        value
    }
}

/// The subgradient of |x| that is 0 at 0 (TensorFlow's `sign`), for the
/// losses and weight penalties built on |x|.
#[inline]
pub fn sign_or_zero(x: f64) -> f64 {
    if x > 0.0 {
        1.0
    } else if x < 0.0 {
        -1.0
    } else {
        0.0
    }
}

/// Sets every `width`-wide row of `out` to `bias` and returns the β with
/// which a product then adds to it (1), or, without a bias, the β with which
/// it overwrites `out` (0): `out ← x·W + bias` in one GEMM.
pub(crate) fn start_from_bias(out: &mut [f32], width: usize, bias: Option<&[f32]>) -> f32 {
    match bias {
        Some(bias) => {
            out.chunks_exact_mut(width).for_each(|row| row.copy_from_slice(bias));
            1.0
        }
        None => 0.0,
    }
}
