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

/// `R` rows of C (fewer than a tile's [`MR`]) across `P` consecutive B panels:
/// `C[R × P·NR] ← α·A[R × kc]·[B_panel 0 … B_panel P−1] + β·C`.
///
/// A GRU's state for one sequence (or a few) is one row (or a few), and the
/// products over it are matrix–vector products: every B value is loaded
/// once and used `R` times, so what costs is loads. Spanning `P` panels
/// shares each broadcast of A among `2P` vector multiply-adds (one row over
/// four panels: 9 loads per 64 FLOP where one panel takes 12), and a 4×8
/// tile would spend `4 − R` of its rows on padding. The sums run over
/// `p = 0, 1, …` in order, as in [`gemm_4x8`], so a row of C is bit for bit
/// the same whatever computes it: one sequence predicts as it does in a
/// batch.
///
/// Row `r` of A is `kc` values `a_stride` floats apart from `a[r]` (1 for
/// contiguous rows, [`MR`] for rows of a packed A panel). Panel `q` starts
/// `q * panel_stride` floats after `b`. Row `r` of C starts at `c + r·ldc`;
/// only its first `cols` columns are written.
///
/// # Safety
/// Each `a[r]` must be valid for `kc` floats at stride `a_stride`, each panel
/// for `kc * NR` floats, and `c` for `R` rows of `cols` floats at stride
/// `ldc`; `cols <= P * NR`.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub unsafe fn gemm_rxn<V: F32x4, const R: usize, const P: usize>(
    kc: usize,
    alpha: f32,
    a: [*const f32; R],
    a_stride: usize,
    b: *const f32,
    panel_stride: usize,
    beta: f32,
    c: *mut f32,
    ldc: usize,
    cols: usize,
) {
    let zero = V::splat(0.0);
    let mut acc = [[[zero; 2]; P]; R];
    let mut panels = [b; P];
    for (q, panel) in panels.iter_mut().enumerate() {
        *panel = unsafe { b.add(q * panel_stride) };
    }
    let mut a_ptrs = a;
    for _ in 0..kc {
        unsafe {
            if R == 1 {
                // The same sums in the order V8 compiles best for one row:
                // each load feeds its multiply-add at once (measured 3 %
                // faster than the general form below).
                let broadcast = V::splat(*a_ptrs[0]);
                for (sums, panel) in acc[0].iter_mut().zip(panels.iter_mut()) {
                    sums[0] = sums[0].mul_add(broadcast, V::load(*panel));
                    sums[1] = sums[1].mul_add(broadcast, V::load(panel.add(4)));
                    *panel = panel.add(NR);
                }
                a_ptrs[0] = a_ptrs[0].add(a_stride);
                continue;
            }
            let mut broadcasts = [zero; R];
            for (broadcast, a_ptr) in broadcasts.iter_mut().zip(a_ptrs.iter_mut()) {
                *broadcast = V::splat(**a_ptr);
                *a_ptr = a_ptr.add(a_stride);
            }
            // Each panel's two vectors are loaded once, used by every row.
            for (q, panel) in panels.iter_mut().enumerate() {
                let (b0, b1) = (V::load(*panel), V::load(panel.add(4)));
                for (row, &broadcast) in acc.iter_mut().zip(&broadcasts) {
                    row[q][0] = row[q][0].mul_add(broadcast, b0);
                    row[q][1] = row[q][1].mul_add(broadcast, b1);
                }
                *panel = panel.add(NR);
            }
        }
    }
    let alpha_v = V::splat(alpha);
    for (r, row) in acc.iter().enumerate() {
        let c_row = unsafe { c.add(r * ldc) };
        if cols == P * NR {
            for (q, sums) in row.iter().enumerate() {
                for (half, &sum) in sums.iter().enumerate() {
                    unsafe { store_scaled(sum, alpha_v, beta, c_row.add(q * NR + half * 4)) };
                }
            }
        } else {
            let mut spill = [[0.0f32; NR]; P];
            for (sums, out) in row.iter().zip(spill.iter_mut()) {
                for (half, sum) in sums.iter().enumerate() {
                    unsafe { V::store(sum.mul(alpha_v), out.as_mut_ptr().add(half * 4)) };
                }
            }
            for (j, &value) in spill.iter().flatten().enumerate().take(cols) {
                unsafe { store_scaled_one(value, beta, c_row.add(j)) };
            }
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
