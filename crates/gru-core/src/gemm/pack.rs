//! Packing: copies blocks of A and B into the panel order the micro-kernel
//! streams through, zero-padding ragged edges so the kernel never branches.

use super::kernel::{MR, NR};
use super::mat::MatRef;

/// Packs rows `row0 .. row0 + mc`, columns `col0 .. col0 + kc` of `a` into
/// `ceil(mc / MR)` panels of `kc × MR` floats each.
pub fn pack_a(a: &MatRef, row0: usize, mc: usize, col0: usize, kc: usize, out: &mut [f32]) {
    let panels = mc.div_ceil(MR);
    debug_assert!(out.len() >= panels * kc * MR);
    let (data, rs, cs) = (a.data(), a.row_stride(), a.col_stride());
    for panel in 0..panels {
        let base = panel * kc * MR;
        let r0 = row0 + panel * MR;
        let valid = MR.min(row0 + mc - r0);
        let dst = &mut out[base..base + kc * MR];
        if cs == 1 && valid == MR {
            // Row-major A (a GRU state, an input batch), a full panel:
            // interleave MR contiguous row segments, column by column.
            let start = r0 * rs + col0;
            let segments: [&[f32]; MR] = core::array::from_fn(|i| &data[start + i * rs..start + i * rs + kc]);
            for (p, group) in dst.chunks_exact_mut(MR).enumerate() {
                for (slot, segment) in group.iter_mut().zip(&segments) {
                    *slot = segment[p];
                }
            }
        } else if cs == 1 {
            // A ragged panel: zeros below the last row.
            dst.fill(0.0);
            for i in 0..valid {
                let start = (r0 + i) * rs + col0;
                for (p, &v) in data[start..start + kc].iter().enumerate() {
                    dst[p * MR + i] = v;
                }
            }
        } else {
            for (p, group) in dst.chunks_exact_mut(MR).enumerate() {
                for (i, slot) in group.iter_mut().enumerate() {
                    *slot = if i < valid { data[(r0 + i) * rs + (col0 + p) * cs] } else { 0.0 };
                }
            }
        }
    }
}

/// Packs rows `row0 .. row0 + kc`, columns `col0 .. col0 + nc` of `b` into
/// `ceil(nc / NR)` panels of `kc × NR` floats each.
pub fn pack_b(b: &MatRef, row0: usize, kc: usize, col0: usize, nc: usize, out: &mut [f32]) {
    let panels = nc.div_ceil(NR);
    debug_assert!(out.len() >= panels * kc * NR);
    let (data, rs, cs) = (b.data(), b.row_stride(), b.col_stride());
    for panel in 0..panels {
        let base = panel * kc * NR;
        let c0 = col0 + panel * NR;
        let valid = NR.min(col0 + nc - c0);
        for p in 0..kc {
            let dst = &mut out[base + p * NR..base + (p + 1) * NR];
            let start = (row0 + p) * rs + c0 * cs;
            if cs == 1 && valid == NR {
                dst.copy_from_slice(&data[start..start + NR]);
            } else {
                for (j, slot) in dst.iter_mut().enumerate() {
                    *slot = if j < valid { data[start + j * cs] } else { 0.0 };
                }
            }
        }
    }
}
