use super::*;
use crate::testing::{assert_close, TestRng};

/// Runs the blocked GEMM and the naive reference on the same random operands
/// (every transpose combination) and compares.
fn check(m: usize, k: usize, n: usize, alpha: f32, beta: f32, seed: u64) {
    let mut rng = TestRng::new(seed);
    let a_data = rng.vec(m * k, -1.0, 1.0);
    let b_data = rng.vec(k * n, -1.0, 1.0);
    let c_init = rng.vec(m * n, -1.0, 1.0);
    let mut ws = GemmWorkspace::new();
    for (trans_a, trans_b) in [(false, false), (true, false), (false, true), (true, true)] {
        let a = if trans_a { MatRef::row_major(&a_data, k, m).t() } else { MatRef::row_major(&a_data, m, k) };
        let b = if trans_b { MatRef::row_major(&b_data, n, k).t() } else { MatRef::row_major(&b_data, k, n) };
        let mut expected = c_init.clone();
        gemm_naive(alpha, a, b, beta, MatMut::row_major(&mut expected, m, n));
        // beta = 0 must not read C: start from NaN to prove it.
        let mut actual = if beta == 0.0 { vec![f32::NAN; m * n] } else { c_init.clone() };
        gemm(alpha, a, b, beta, MatMut::row_major(&mut actual, m, n), &mut ws);
        let tol = 2e-6 * (k as f64).sqrt().max(1.0);
        let what = format!("gemm {m}x{k}x{n} ta={trans_a} tb={trans_b} alpha={alpha} beta={beta}");
        assert_close(&what, &actual, &crate::testing::to_f64(&expected), tol, tol);

        let packed = PackedB::new(b);
        let mut actual_packed = if beta == 0.0 { vec![f32::NAN; m * n] } else { c_init.clone() };
        gemm_packed(alpha, a, &packed, beta, MatMut::row_major(&mut actual_packed, m, n), &mut ws);
        assert_eq!(actual, actual_packed, "{what}: packed B differs from strided B");
    }
}

#[test]
fn matches_naive_over_many_shapes() {
    let shapes: &[(usize, usize, usize)] = &[
        (1, 1, 1),
        (1, 1, 2),
        (2, 1, 1),
        (1, 2, 1),
        (1, 7, 1),
        (3, 3, 3),
        (4, 4, 4),
        (5, 5, 5),
        (4, 8, 8),
        (7, 11, 13),
        (8, 8, 8),
        (9, 9, 9),
        (1, 16, 9),
        (13, 1, 17),
        (17, 19, 23),
        (16, 16, 16),
        (31, 37, 41),
        (32, 32, 32),
        (33, 33, 33),
        (2, 64, 3),
        (64, 2, 3),
        (3, 2, 64),
        (1, 100, 1),
        (100, 1, 100),
        (63, 65, 67),
        (64, 64, 64),
        (5, 300, 7),
        (127, 5, 129),
        (129, 3, 9),
        (12, 257, 12),
        (6, 513, 10),
        (3, 7, 1031),
        (2, 3, 2049),
        (130, 260, 20),
        (96, 128, 384),
        (32, 256, 768),
        (64, 32, 96),
        (11, 97, 53),
        (101, 103, 107),
        (1, 256, 768),
        (2, 256, 768),
        (64, 768, 33),
        (19, 23, 8),
        (8, 23, 19),
        (4, 1, 8),
        (3, 1, 7),
        (1, 1, 1030),
        (1030, 1, 1),
        (37, 29, 31),
        (24, 40, 56),
        (1, 300, 77),
        (1, 513, 40),
        (1, 5, 1100),
        (1, 64, 24),
    ];
    for (i, &(m, k, n)) in shapes.iter().enumerate() {
        check(m, k, n, 1.0, 0.0, i as u64);
    }
}

#[test]
fn alpha_and_beta() {
    for (i, &(alpha, beta)) in [(1.0, 1.0), (0.5, -2.0), (-1.5, 0.25), (2.0, 0.0)].iter().enumerate() {
        check(13, 21, 19, alpha, beta, 100 + i as u64);
        check(4, 300, 8, alpha, beta, 200 + i as u64);
    }
}

/// Each row of C is summed in the same order whatever tile computes it (a
/// full tile, a lone row inside a packed block, a one-row product): one
/// sequence gives bit for bit what it gives inside a batch.
#[test]
fn a_row_alone_equals_its_row_in_the_product() {
    let cases = [
        (9, 300, 77, 1.0, 0.0),
        (5, 256, 768, 1.0, 1.0),
        (130, 260, 20, 0.5, -2.0),
        (7, 513, 33, 1.0, 0.0),
        (3, 300, 1100, 1.0, 1.0),
    ];
    for (case, &(m, k, n, alpha, beta)) in cases.iter().enumerate() {
        let mut rng = TestRng::new(300 + case as u64);
        let (a_data, b_data, c_init) =
            (rng.vec(m * k, -1.0, 1.0), rng.vec(k * n, -1.0, 1.0), rng.vec(m * n, -1.0, 1.0));
        let b = MatRef::row_major(&b_data, k, n);
        let mut ws = GemmWorkspace::new();
        for transposed in [false, true] {
            let a = if transposed { MatRef::row_major(&a_data, k, m).t() } else { MatRef::row_major(&a_data, m, k) };
            let mut full = c_init.clone();
            gemm(alpha, a, b, beta, MatMut::row_major(&mut full, m, n), &mut ws);
            for i in 0..m {
                let row = if transposed {
                    MatRef::new(&a_data[i..], 1, k, 1, m)
                } else {
                    MatRef::row_major(&a_data[i * k..(i + 1) * k], 1, k)
                };
                let mut alone = c_init[i * n..(i + 1) * n].to_vec();
                gemm(alpha, row, b, beta, MatMut::row_major(&mut alone, 1, n), &mut ws);
                assert_eq!(alone, full[i * n..(i + 1) * n], "{m}x{k}x{n} transposed={transposed}: row {i}");
            }
        }
    }
}

#[test]
fn zero_depth_scales_c() {
    let mut c = vec![1.0, 2.0, 3.0, 4.0];
    gemm(
        1.0,
        MatRef::row_major(&[], 2, 0),
        MatRef::row_major(&[], 0, 2),
        0.5,
        MatMut::row_major(&mut c, 2, 2),
        &mut GemmWorkspace::new(),
    );
    assert_eq!(c, [0.5, 1.0, 1.5, 2.0]);
    let mut c = vec![f32::NAN; 4];
    gemm(
        1.0,
        MatRef::row_major(&[], 2, 0),
        MatRef::row_major(&[], 0, 2),
        0.0,
        MatMut::row_major(&mut c, 2, 2),
        &mut GemmWorkspace::new(),
    );
    assert_eq!(c, [0.0; 4]);
}

#[test]
fn column_views_and_strided_output() {
    // A·B[:, 3..8] written into columns 2..7 of a wider C: the views a GRU uses
    // for its gate blocks.
    let (m, k, n_full) = (5, 6, 12);
    let mut rng = TestRng::new(7);
    let a = rng.vec(m * k, -1.0, 1.0);
    let b = rng.vec(k * n_full, -1.0, 1.0);
    let b_view = MatRef::row_major(&b, k, n_full).columns(3, 5);
    let mut c = vec![9.0; m * 10];
    let mut expected = c.clone();
    gemm(
        1.0,
        MatRef::row_major(&a, m, k),
        b_view,
        0.0,
        MatMut::row_major(&mut c, m, 10).columns(2, 5),
        &mut GemmWorkspace::new(),
    );
    gemm_naive(1.0, MatRef::row_major(&a, m, k), b_view, 0.0, MatMut::row_major(&mut expected, m, 10).columns(2, 5));
    assert_close("column views", &c, &crate::testing::to_f64(&expected), 1e-5, 1e-5);
    assert!(c.chunks(10).all(|row| row[..2] == [9.0, 9.0] && row[7..] == [9.0; 3]), "wrote outside the view");
}

#[test]
fn identity_is_neutral() {
    let n = 37;
    let mut identity = vec![0.0; n * n];
    for i in 0..n {
        identity[i * n + i] = 1.0;
    }
    let a = TestRng::new(3).vec(n * n, -4.0, 4.0);
    let mut out = vec![0.0; n * n];
    gemm(
        1.0,
        MatRef::row_major(&a, n, n),
        MatRef::row_major(&identity, n, n),
        0.0,
        MatMut::row_major(&mut out, n, n),
        &mut GemmWorkspace::new(),
    );
    assert_eq!(out, a);
    gemm(
        1.0,
        MatRef::row_major(&identity, n, n),
        MatRef::row_major(&a, n, n),
        0.0,
        MatMut::row_major(&mut out, n, n),
        &mut GemmWorkspace::new(),
    );
    assert_eq!(out, a);
}
