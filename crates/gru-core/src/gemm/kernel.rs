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
    if rows == MR && cols == NR {
        for (i, row) in tile.iter().enumerate() {
            for (half, &acc) in row.iter().enumerate() {
                unsafe { store_scaled(acc, alpha_v, beta, c.add(i * ldc + half * 4)) };
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
                unsafe { store_scaled_one(spill[i * NR + j], beta, c.add(i * ldc + j)) };
            }
        }
    }
}

/// One row of C across `P` consecutive B panels:
/// `C[1 × P·NR] ← α·a·[B_panel 0 … B_panel P−1] + β·C`.
///
/// A GRU's state for one sequence is a single row, and the products over it
/// are matrix–vector products: every B value is loaded once and used once,
/// so what costs is loads. Spanning `P` panels shares each broadcast of `a`
/// among `2P` vector multiply-adds (four panels: 9 loads per 64 FLOP where a
/// one-panel row takes 12). The sum runs over `p = 0, 1, …` in order, as in
/// [`gemm_4x8`], so a row of C is bit for bit the same whether it is computed
/// alone or inside a tile: one sequence predicts as it does in a batch.
///
/// `a` holds the row's `kc` values `a_stride` floats apart (1 for a
/// contiguous row, [`MR`] for the first row of a packed A panel). Panel `q`
/// starts `q * panel_stride` floats after `b`. Only the first `cols` columns
/// of C are written.
///
/// # Safety
/// `a` must be valid for `kc` floats at stride `a_stride`, each panel for
/// `kc * NR` floats, and `c` for `cols` floats; `cols <= P * NR`.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub unsafe fn gemm_1xn<V: F32x4, const P: usize>(
    kc: usize,
    alpha: f32,
    a: *const f32,
    a_stride: usize,
    b: *const f32,
    panel_stride: usize,
    beta: f32,
    c: *mut f32,
    cols: usize,
) {
    let zero = V::splat(0.0);
    let mut acc = [[zero; 2]; P];
    let mut panels = [b; P];
    for (q, panel) in panels.iter_mut().enumerate() {
        *panel = unsafe { b.add(q * panel_stride) };
    }
    let mut a_ptr = a;
    for _ in 0..kc {
        unsafe {
            let broadcast = V::splat(*a_ptr);
            for (row, panel) in acc.iter_mut().zip(panels.iter_mut()) {
                row[0] = row[0].mul_add(broadcast, V::load(*panel));
                row[1] = row[1].mul_add(broadcast, V::load(panel.add(4)));
                *panel = panel.add(NR);
            }
            a_ptr = a_ptr.add(a_stride);
        }
    }
    let alpha_v = V::splat(alpha);
    if cols == P * NR {
        for (q, row) in acc.iter().enumerate() {
            for (half, &sum) in row.iter().enumerate() {
                unsafe { store_scaled(sum, alpha_v, beta, c.add(q * NR + half * 4)) };
            }
        }
    } else {
        let mut spill = [[0.0f32; NR]; P];
        for (row, out) in acc.iter().zip(spill.iter_mut()) {
            for (half, sum) in row.iter().enumerate() {
                unsafe { V::store(sum.mul(alpha_v), out.as_mut_ptr().add(half * 4)) };
            }
        }
        for (j, &value) in spill.iter().flatten().enumerate().take(cols) {
            unsafe { store_scaled_one(value, beta, c.add(j)) };
        }
    }
}

/// `dst[0..4] ← α·sum + β·dst[0..4]`, with `alpha` splatted; `dst` is not
/// read when `β = 0` (it may hold NaN).
///
/// # Safety
/// `dst` must be valid for reading and writing four `f32`.
#[inline(always)]
unsafe fn store_scaled<V: F32x4>(sum: V, alpha: V, beta: f32, dst: *mut f32) {
    let mut value = sum.mul(alpha);
    if beta != 0.0 {
        value = value.mul_add(V::splat(beta), unsafe { V::load(dst) });
    }
    unsafe { V::store(value, dst) };
}

/// `*dst ← value + β·*dst` (`value` already scaled by α), as [`store_scaled`]
/// for one float of a ragged tile.
///
/// # Safety
/// `dst` must be valid for reading and writing one `f32`.
#[inline(always)]
unsafe fn store_scaled_one(value: f32, beta: f32, dst: *mut f32) {
    unsafe { *dst = if beta != 0.0 { value + beta * *dst } else { value } };
}
