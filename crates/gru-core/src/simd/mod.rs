//! Four-lane `f32` vectors: the only code that names SIMD instructions.
//!
//! The GEMM micro-kernel is written once, generic over [`F32x4`]. On `wasm32`
//! with `simd128` it runs on `v128` registers ([`wasm128`]); everywhere else on
//! plain arrays ([`scalar`]), which is also what the native tests exercise.

pub mod scalar;
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
pub mod wasm128;

/// A vector of four `f32` lanes.
pub trait F32x4: Copy {
    /// All four lanes set to `value`.
    fn splat(value: f32) -> Self;
    /// Reads four consecutive floats.
    ///
    /// # Safety
    /// `ptr` must be valid for reading four `f32` (no alignment needed).
    unsafe fn load(ptr: *const f32) -> Self;
    /// Writes four consecutive floats.
    ///
    /// # Safety
    /// `ptr` must be valid for writing four `f32` (no alignment needed).
    unsafe fn store(self, ptr: *mut f32);
    fn add(self, other: Self) -> Self;
    fn mul(self, other: Self) -> Self;
    /// `self + a * b`, rounded twice (no fused multiply-add, so every
    /// implementation gives bit-identical results), except in the
    /// relaxed-SIMD build, which may fuse it.
    #[inline(always)]
    fn mul_add(self, a: Self, b: Self) -> Self {
        self.add(a.mul(b))
    }
}

/// The lane type used by this build.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
pub type Lanes = wasm128::Wasm128;
/// The lane type used by this build.
#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
pub type Lanes = scalar::Scalar4;
