//! The register-tiled micro-kernel: `C[MR×NR] ← α·A_panel·B_panel + β·C`.
//!
//! A 4×8 tile keeps eight `f32x4` accumulators live, the shape that reached
//! the wasm SIMD peak on this project's machine (4×12 and wider spilled
//! registers in V8; see shared/docs/measurements.md).

use crate::simd::F32x4;

/// Rows of C per micro-tile.
pub const MR: usize = 4;
/// Columns of C per micro-tile (two vectors).
pub const NR: usize = 8;

/// Computes one `MR × NR` tile of C over a depth of `kc`.
///
/// `a` is a packed A panel: `kc` groups of `MR` floats (column `p` of the
/// panel's rows). `b` is a packed B panel: `kc` groups of `NR` floats. Only
/// the top-left `rows × cols` of the tile are written. When `beta == 0`, C is
/// never read, so it may hold NaN or garbage.
///
/// # Safety
/// `a` must hold `kc * MR` floats, `b` `kc * NR` floats, and `c` must be valid
/// for `rows` rows of `cols` floats at stride `ldc`; `rows <= MR`, `cols <= NR`.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub unsafe fn gemm_4x8<V: F32x4>(
    kc: usize,
    alpha: f32,
    a: *const f32,
    b: *const f32,
    beta: f32,
    c: *mut f32,
    ldc: usize,
    rows: usize,
    cols: usize,
) {
    let zero = V::splat(0.0);
    let (mut c00, mut c01, mut c10, mut c11) = (zero, zero, zero, zero);
    let (mut c20, mut c21, mut c30, mut c31) = (zero, zero, zero, zero);
    let (mut a_ptr, mut b_ptr) = (a, b);
    for _ in 0..kc {
        unsafe {
            let b0 = V::load(b_ptr);
            let b1 = V::load(b_ptr.add(4));
            let a0 = V::splat(*a_ptr);
            let a1 = V::splat(*a_ptr.add(1));
            let a2 = V::splat(*a_ptr.add(2));
            let a3 = V::splat(*a_ptr.add(3));
            c00 = c00.mul_add(a0, b0);
            c01 = c01.mul_add(a0, b1);
            c10 = c10.mul_add(a1, b0);
            c11 = c11.mul_add(a1, b1);
            c20 = c20.mul_add(a2, b0);
            c21 = c21.mul_add(a2, b1);
            c30 = c30.mul_add(a3, b0);
            c31 = c31.mul_add(a3, b1);
            a_ptr = a_ptr.add(MR);
            b_ptr = b_ptr.add(NR);
        }
    }
    let tile = [[c00, c01], [c10, c11], [c20, c21], [c30, c31]];
    let alpha_v = V::splat(alpha);
    let beta_v = V::splat(beta);
    if rows == MR && cols == NR {
        for (i, row) in tile.iter().enumerate() {
            for (half, acc) in row.iter().enumerate() {
                unsafe {
                    let dst = c.add(i * ldc + half * 4);
                    let mut value = acc.mul(alpha_v);
                    if beta != 0.0 {
                        value = value.mul_add(beta_v, V::load(dst));
                    }
                    V::store(value, dst);
                }
            }
        }
    } else {
        let mut spill = [0.0f32; MR * NR];
        for (i, row) in tile.iter().enumerate() {
            for (half, acc) in row.iter().enumerate() {
                unsafe { V::store(acc.mul(alpha_v), spill.as_mut_ptr().add(i * NR + half * 4)) };
            }
        }
        for i in 0..rows {
            for j in 0..cols {
                unsafe {
                    let dst = c.add(i * ldc + j);
                    let value = spill[i * NR + j];
                    *dst = if beta != 0.0 { value + beta * *dst } else { value };
                }
            }
        }
    }
}

/// One row of C: `C[1×NR] ← α·A_panel[row 0]·B_panel + β·C`, reading the
/// packed A panel's first lane only. Even and odd depths accumulate
/// separately (four independent chains instead of two), summed at the end.
///
/// # Safety
/// As [`gemm_4x8`], with `c` valid for `cols` floats.
#[inline(always)]
pub unsafe fn gemm_1x8<V: F32x4>(
    kc: usize,
    alpha: f32,
    a: *const f32,
    b: *const f32,
    beta: f32,
    c: *mut f32,
    cols: usize,
) {
    let zero = V::splat(0.0);
    let (mut even0, mut even1, mut odd0, mut odd1) = (zero, zero, zero, zero);
    let (mut a_ptr, mut b_ptr) = (a, b);
    for _ in 0..kc / 2 {
        unsafe {
            let a0 = V::splat(*a_ptr);
            even0 = even0.mul_add(a0, V::load(b_ptr));
            even1 = even1.mul_add(a0, V::load(b_ptr.add(4)));
            let a1 = V::splat(*a_ptr.add(MR));
            odd0 = odd0.mul_add(a1, V::load(b_ptr.add(NR)));
            odd1 = odd1.mul_add(a1, V::load(b_ptr.add(NR + 4)));
            a_ptr = a_ptr.add(2 * MR);
            b_ptr = b_ptr.add(2 * NR);
        }
    }
    if kc % 2 == 1 {
        unsafe {
            let a0 = V::splat(*a_ptr);
            even0 = even0.mul_add(a0, V::load(b_ptr));
            even1 = even1.mul_add(a0, V::load(b_ptr.add(4)));
        }
    }
    let alpha_v = V::splat(alpha);
    let mut row = [0.0f32; NR];
    unsafe {
        V::store(even0.add(odd0).mul(alpha_v), row.as_mut_ptr());
        V::store(even1.add(odd1).mul(alpha_v), row.as_mut_ptr().add(4));
    }
    for (j, &value) in row.iter().enumerate().take(cols) {
        unsafe {
            let dst = c.add(j);
            *dst = if beta != 0.0 { value + beta * *dst } else { value };
        }
    }
}
