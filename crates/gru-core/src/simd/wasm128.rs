//! Four-lane vector on WebAssembly SIMD128 (`v128`).

use super::F32x4;
use core::arch::wasm32::{f32x4_add, f32x4_mul, f32x4_splat, v128, v128_load, v128_store};

#[derive(Clone, Copy)]
pub struct Wasm128(v128);

impl F32x4 for Wasm128 {
    #[inline(always)]
    fn splat(value: f32) -> Self {
        Wasm128(f32x4_splat(value))
    }

    #[inline(always)]
    unsafe fn load(ptr: *const f32) -> Self {
        // v128.load has no alignment requirement.
        Wasm128(unsafe { v128_load(ptr.cast::<v128>()) })
    }

    #[inline(always)]
    unsafe fn store(self, ptr: *mut f32) {
        unsafe { v128_store(ptr.cast::<v128>(), self.0) }
    }

    #[inline(always)]
    fn add(self, other: Self) -> Self {
        Wasm128(f32x4_add(self.0, other.0))
    }

    #[inline(always)]
    fn mul(self, other: Self) -> Self {
        Wasm128(f32x4_mul(self.0, other.0))
    }

    /// With relaxed SIMD, one instruction: fused (one rounding) where the
    /// machine has FMA, which is why this build is only close to, not equal
    /// to, the others.
    #[cfg(target_feature = "relaxed-simd")]
    #[inline(always)]
    fn mul_add(self, a: Self, b: Self) -> Self {
        Wasm128(core::arch::wasm32::f32x4_relaxed_madd(a.0, b.0, self.0))
    }
}
