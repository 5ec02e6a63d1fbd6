//! Layers and losses, each with its forward and backward side by side.

pub mod activation;
pub mod dense;
pub mod dropout;
pub mod fastmath;
pub mod gru;
pub mod loss;
pub mod masking;
pub mod merge;

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
