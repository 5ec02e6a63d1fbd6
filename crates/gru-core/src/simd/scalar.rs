//! Portable four-lane vector over a plain array.

use super::F32x4;

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Scalar4(pub [f32; 4]);

impl F32x4 for Scalar4 {
    #[inline(always)]
    fn splat(value: f32) -> Self {
        Scalar4([value; 4])
    }

    #[inline(always)]
    unsafe fn load(ptr: *const f32) -> Self {
        Scalar4(unsafe { ptr.cast::<[f32; 4]>().read_unaligned() })
    }

    #[inline(always)]
    unsafe fn store(self, ptr: *mut f32) {
        unsafe { ptr.cast::<[f32; 4]>().write_unaligned(self.0) }
    }

    #[inline(always)]
    fn add(self, other: Self) -> Self {
        Scalar4(std::array::from_fn(|i| self.0[i] + other.0[i]))
    }

    #[inline(always)]
    fn mul(self, other: Self) -> Self {
        Scalar4(std::array::from_fn(|i| self.0[i] * other.0[i]))
    }
}
