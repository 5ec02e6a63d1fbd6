//! The register-tiled micro-kernel: `C[MR×NR] ← α·A_panel·B_panel + β·C`.
//!
//! Eight columns (two `f32x4` vectors) by [`MR`] rows. With separate
//! multiplies and adds, a 4×8 tile (eight accumulators) is the widest V8
//! keeps in registers, and taller tiles gain nothing: every shape ran at
//! ≈ 45 GFLOP/s on this project's machine (see shared/docs/measurements.md).
//! With relaxed SIMD's fused multiply-add no product needs a register of its
//! own, and a 6×8 tile (twelve accumulators) loads two B vectors and six
//! broadcasts per twelve multiply-adds where 4×8 loads six per eight:
//! hand-assembled loops (bench/peak.ts) ran at 59–60 GFLOP/s against 49–51.
//! That takes fifteen live vectors, V8's limit, so each row's broadcast must
//! die before the next row's is loaded: the relaxed builds keep LLVM's
//! source order (`-pre-RA-sched=source`, scripts/build.sh), whose default
//! schedule holds five broadcasts at once, spills, and ran the tile at 40.

use crate::simd::F32x4;

/// Rows of C per micro-tile: 6 where multiply-adds fuse (the relaxed-SIMD
/// builds; natively with the `tall-tiles` feature, to test that shape), else 4.
#[cfg(any(target_feature = "relaxed-simd", feature = "tall-tiles"))]
pub const MR: usize = 6;
/// Rows of C per micro-tile (see the relaxed-SIMD builds' 6).
#[cfg(not(any(target_feature = "relaxed-simd", feature = "tall-tiles")))]
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
pub unsafe fn gemm_tile<V: F32x4>(
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
    let mut tile = [[zero; 2]; MR];
    let (mut a_ptr, mut b_ptr) = (a, b);
    for _ in 0..kc {
        unsafe {
            let b0 = V::load(b_ptr);
            let b1 = V::load(b_ptr.add(4));
            for (i, row) in tile.iter_mut().enumerate() {
                let broadcast = V::splat(*a_ptr.add(i));
                row[0] = row[0].mul_add(broadcast, b0);
                row[1] = row[1].mul_add(broadcast, b1);
            }
            a_ptr = a_ptr.add(MR);
            b_ptr = b_ptr.add(NR);
        }
    }
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
/// four panels: 9 loads per 64 FLOP where one panel takes 12), and a full
/// tile would spend `MR − R` of its rows on padding. The sums run over
/// `p = 0, 1, …` in order, as in [`gemm_tile`], so a row of C is bit for bit
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
            if P == 1 {
                // One panel: each row's broadcast dies after its two
                // multiply-adds (as in `gemm_tile`), where the general form
                // below holds all R at once (for five rows, more registers
                // than V8 has).
                let (b0, b1) = (V::load(panels[0]), V::load(panels[0].add(4)));
                for (row, a_ptr) in acc.iter_mut().zip(a_ptrs.iter_mut()) {
                    let broadcast = V::splat(**a_ptr);
                    *a_ptr = a_ptr.add(a_stride);
                    row[0][0] = row[0][0].mul_add(broadcast, b0);
                    row[0][1] = row[0][1].mul_add(broadcast, b1);
                }
                panels[0] = panels[0].add(NR);
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
