//! Single-precision GEMM: `C ← α·op(A)·op(B) + β·C`, row-major C.
//!
//! A packed, cache-blocked loop nest around one register-tiled micro-kernel
//! (the GotoBLAS/BLIS structure):
//!
//! ```text
//! LOOP 5  jc over N in steps of NC     B block of KC×NC reused by every row block
//! LOOP 4  pc over K in steps of KC     pack B[pc.., jc..] into NR-wide panels
//! LOOP 3  ic over M in steps of MC     pack A[ic.., pc..] into MR-tall panels
//! LOOP 2  jr over the block's NR panels  (one B panel, kc×NR, stays in L1)
//! LOOP 1  ir over the block's MR panels  micro-kernel: MR×NR tile of C
//! ```
//!
//! Transposes are strided views ([`MatRef::t`]); packing absorbs the strides.
//! Contract: when `β = 0` the old contents of C are never read.

mod kernel;
mod mat;
mod naive;
mod pack;

pub use kernel::{MR, NR};
pub use mat::{MatMut, MatRef};
pub use naive::gemm_naive;

use crate::simd::Lanes;
use pack::{pack_a, pack_b};

/// Depth of one packed block: an `KC × NR` B panel is 8 KiB, L1-resident.
pub const KC: usize = 256;
/// Rows of A per packed block, whole micro-tiles: `MC × KC` floats (128 KiB
/// with 4-row tiles, 192 KiB with 6) sit in L2.
pub const MC: usize = 32 * MR;
/// Fewer rows than this are products with a few vectors, read straight from
/// A with no packing (see [`few_rows_times_panels`]).
const FEW_ROWS: usize = 4;
/// Columns of B per packed block.
pub const NC: usize = 1024;

/// Packing buffers, grown on demand and reused across calls so that hot loops
/// (one GEMM per GRU time step) do not allocate.
#[derive(Default, Debug)]
pub struct GemmWorkspace {
    packed_a: Vec<f32>,
    packed_b: Vec<f32>,
}

impl GemmWorkspace {
    pub fn new() -> Self {
        Self::default()
    }
}

/// B packed once, for a right-hand side multiplied many times (a GRU's
/// recurrent kernel, once per time step).
#[derive(Debug, Clone)]
pub struct PackedB {
    data: Vec<f32>,
    k: usize,
    n: usize,
}

impl PackedB {
    /// Packs all of `b` in the block order [`gemm_packed`] consumes.
    pub fn new(b: MatRef) -> Self {
        let (k, n) = (b.rows(), b.cols());
        let mut data = vec![0.0; n.div_ceil(NR) * NR * k];
        let mut offset = 0;
        for jc in (0..n).step_by(NC) {
            let nc = NC.min(n - jc);
            for pc in (0..k).step_by(KC) {
                let kc = KC.min(k - pc);
                let len = nc.div_ceil(NR) * NR * kc;
                pack_b(&b, pc, kc, jc, nc, &mut data[offset..offset + len]);
                offset += len;
            }
        }
        PackedB { data, k, n }
    }

    pub fn rows(&self) -> usize {
        self.k
    }

    pub fn cols(&self) -> usize {
        self.n
    }
}

/// `C ← α·A·B + β·C` with `A: m×k`, `B: k×n`, `C: m×n`.
///
/// # Panics
/// If the shapes disagree.
pub fn gemm(alpha: f32, a: MatRef, b: MatRef, beta: f32, c: MatMut, ws: &mut GemmWorkspace) {
    assert_eq!(a.cols(), b.rows(), "gemm: A is {}x{}, B is {}x{}", a.rows(), a.cols(), b.rows(), b.cols());
    run(alpha, a, RightHandSide::Strided(b), beta, c, ws);
}

/// As [`gemm`], with B packed in advance by [`PackedB::new`].
pub fn gemm_packed(alpha: f32, a: MatRef, b: &PackedB, beta: f32, c: MatMut, ws: &mut GemmWorkspace) {
    assert_eq!(a.cols(), b.rows(), "gemm: A is {}x{}, B is {}x{}", a.rows(), a.cols(), b.rows(), b.cols());
    run(alpha, a, RightHandSide::Packed(b), beta, c, ws);
}

enum RightHandSide<'a> {
    Strided(MatRef<'a>),
    Packed(&'a PackedB),
}

impl RightHandSide<'_> {
    fn cols(&self) -> usize {
        match self {
            RightHandSide::Strided(b) => b.cols(),
            RightHandSide::Packed(b) => b.cols(),
        }
    }
}

fn run(alpha: f32, a: MatRef, b: RightHandSide, beta: f32, mut c: MatMut, ws: &mut GemmWorkspace) {
    let (m, k, n) = (a.rows(), a.cols(), b.cols());
    assert_eq!((c.rows(), c.cols()), (m, n), "gemm: C is {}x{}, expected {m}x{n}", c.rows(), c.cols());
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        scale(&mut c, beta);
        return;
    }
    let ldc = c.row_stride();
    let c_data = c.data_mut();
    let mut packed_offset = 0;
    // LOOP 5
    for jc in (0..n).step_by(NC) {
        let nc = NC.min(n - jc);
        // LOOP 4
        for pc in (0..k).step_by(KC) {
            let kc = KC.min(k - pc);
            let b_len = nc.div_ceil(NR) * NR * kc;
            let b_block: &[f32] = match &b {
                RightHandSide::Strided(b) => {
                    grow(&mut ws.packed_b, b_len);
                    pack_b(b, pc, kc, jc, nc, &mut ws.packed_b[..b_len]);
                    &ws.packed_b[..b_len]
                }
                RightHandSide::Packed(b) => {
                    let block = &b.data[packed_offset..packed_offset + b_len];
                    packed_offset += b_len;
                    block
                }
            };
            let beta_block = if pc == 0 { beta } else { 1.0 };
            // LOOP 3
            for ic in (0..m).step_by(MC) {
                let mc = MC.min(m - ic);
                if mc < FEW_ROWS {
                    // One sequence's state, or a few: matrix–vector-like
                    // products, read straight from A, with no packing.
                    let c_rows = &mut c_data[ic * ldc + jc..(ic + mc - 1) * ldc + jc + nc];
                    few_rows_times_panels(
                        &a,
                        ic,
                        mc,
                        pc,
                        kc,
                        alpha,
                        b_block,
                        beta_block,
                        c_rows,
                        ldc,
                        &mut ws.packed_a,
                    );
                    continue;
                }
                let a_len = mc.div_ceil(MR) * MR * kc;
                grow(&mut ws.packed_a, a_len);
                pack_a(&a, ic, mc, pc, kc, &mut ws.packed_a[..a_len]);
                let a_block = &ws.packed_a[..a_len];
                // LOOP 2
                for (jr, b_panel) in b_block.chunks_exact(kc * NR).enumerate() {
                    let col = jc + jr * NR;
                    let cols = NR.min(jc + nc - col);
                    // LOOP 1
                    for (ir, a_panel) in a_block.chunks_exact(kc * MR).enumerate() {
                        let row = ic + ir * MR;
                        let rows = MR.min(ic + mc - row);
                        let tile_start = row * ldc + col;
                        let tile_end = (row + rows - 1) * ldc + col + cols;
                        let tile = &mut c_data[tile_start..tile_end];
                        let (a, b, c) = (a_panel.as_ptr(), b_panel.as_ptr(), tile.as_mut_ptr());
                        // SAFETY: the panels hold kc*MR and kc*NR floats
                        // (chunks_exact), and `tile` spans exactly the
                        // `rows × cols` floats at stride ldc that are written.
                        // A ragged panel's rows would leave part of a tile
                        // to padding: they read their lanes of A instead.
                        unsafe {
                            match rows {
                                1 => panel_rows::<1>(kc, alpha, a, b, beta_block, c, ldc, cols),
                                2 => panel_rows::<2>(kc, alpha, a, b, beta_block, c, ldc, cols),
                                3 => panel_rows::<3>(kc, alpha, a, b, beta_block, c, ldc, cols),
                                4 if MR > 4 => panel_rows::<4>(kc, alpha, a, b, beta_block, c, ldc, cols),
                                5 if MR > 5 => panel_rows::<5>(kc, alpha, a, b, beta_block, c, ldc, cols),
                                _ => kernel::gemm_tile::<Lanes>(kc, alpha, a, b, beta_block, c, ldc, rows, cols),
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The first `R` rows of a packed A panel (fewer than a tile's [`MR`]) times
/// one B panel, into `R` rows of C.
///
/// # Safety
/// As [`kernel::gemm_rxn`] with `a` a packed panel of `kc × MR` floats and
/// `b` one B panel.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
unsafe fn panel_rows<const R: usize>(
    kc: usize,
    alpha: f32,
    a: *const f32,
    b: *const f32,
    beta: f32,
    c: *mut f32,
    ldc: usize,
    cols: usize,
) {
    let rows: [*const f32; R] = core::array::from_fn(|i| unsafe { a.add(i) });
    unsafe { kernel::gemm_rxn::<Lanes, R, 1>(kc, alpha, rows, MR, b, 0, beta, c, ldc, cols) }
}

/// `C[rows × nc] ← α·A[row0 .., col0 .. col0 + kc]·B_block + β·C` for fewer
/// rows than a tile (one sequence's state, or a few), read straight from A
/// (gathered into `buffer` when A is not row-major) with no packing, the B
/// panels taken in groups that share each broadcast (see
/// [`kernel::gemm_rxn`]). `c` holds the rows at stride `ldc`.
#[allow(clippy::too_many_arguments)]
fn few_rows_times_panels(
    a: &MatRef,
    row0: usize,
    rows: usize,
    col0: usize,
    kc: usize,
    alpha: f32,
    b_block: &[f32],
    beta: f32,
    c: &mut [f32],
    ldc: usize,
    buffer: &mut Vec<f32>,
) {
    let (data, rs, cs) = (a.data(), a.row_stride(), a.col_stride());
    let (start, stride) = if cs == 1 {
        (&data[row0 * rs + col0..], rs)
    } else {
        grow(buffer, rows * kc);
        for (r, row) in buffer.chunks_exact_mut(kc).take(rows).enumerate() {
            for (p, slot) in row.iter_mut().enumerate() {
                *slot = data[(row0 + r) * rs + (col0 + p) * cs];
            }
        }
        (&buffer[..], kc)
    };
    let nc = c.len() - (rows - 1) * ldc;
    assert!(start.len() >= (rows - 1) * stride + kc, "A rows out of bounds");
    assert!(b_block.len() >= nc.div_ceil(NR) * NR * kc, "B block too short");
    let a = start.as_ptr();
    // SAFETY: the rows hold kc floats each (asserted above), the B block
    // holds its panels, and `c` the rows' nc floats at stride ldc.
    unsafe {
        match rows {
            1 => rows_times_panels::<1, 4>(kc, alpha, [a], b_block, beta, c, ldc, nc),
            2 => rows_times_panels::<2, 2>(kc, alpha, [a, a.add(stride)], b_block, beta, c, ldc, nc),
            _ => rows_times_panels::<3, 1>(kc, alpha, [a, a.add(stride), a.add(2 * stride)], b_block, beta, c, ldc, nc),
        }
    }
}

/// The `R` contiguous rows at `a` times every panel of `b_block`, `P` panels
/// per call of [`kernel::gemm_rxn`] (registers: `2·R·P` sums), one at a time
/// past the last whole group.
///
/// # Safety
/// Each `a[r]` must be valid for `kc` floats, `b_block` must hold
/// `ceil(nc / NR)` panels of `kc × NR`, and `c` must hold `R` rows of `nc`
/// floats at stride `ldc`.
#[allow(clippy::too_many_arguments)]
unsafe fn rows_times_panels<const R: usize, const P: usize>(
    kc: usize,
    alpha: f32,
    a: [*const f32; R],
    b_block: &[f32],
    beta: f32,
    c: &mut [f32],
    ldc: usize,
    nc: usize,
) {
    let panel_len = kc * NR;
    let panels = nc.div_ceil(NR);
    let mut first = 0;
    while first < panels {
        let (b, out) = (b_block[first * panel_len..].as_ptr(), c[first * NR..].as_mut_ptr());
        let cols = nc - first * NR;
        unsafe {
            if first + P <= panels {
                kernel::gemm_rxn::<Lanes, R, P>(kc, alpha, a, 1, b, panel_len, beta, out, ldc, cols.min(P * NR));
                first += P;
            } else {
                kernel::gemm_rxn::<Lanes, R, 1>(kc, alpha, a, 1, b, panel_len, beta, out, ldc, cols.min(NR));
                first += 1;
            }
        }
    }
}

fn scale(c: &mut MatMut, beta: f32) {
    let (rows, cols, ldc) = (c.rows(), c.cols(), c.row_stride());
    let data = c.data_mut();
    for r in 0..rows {
        for v in &mut data[r * ldc..r * ldc + cols] {
            *v = if beta == 0.0 { 0.0 } else { *v * beta };
        }
    }
}

fn grow(buffer: &mut Vec<f32>, len: usize) {
    if buffer.len() < len {
        buffer.resize(len, 0.0);
    }
}

#[cfg(test)]
mod tests;
