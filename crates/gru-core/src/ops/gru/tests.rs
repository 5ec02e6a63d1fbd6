//! The GRU against a float64 reference written straight from the equations in
//! the module docs, and its gradients against central differences of that
//! reference.

use super::*;
use crate::testing::{assert_close, numeric_gradient, to_f64, TestRng};

struct Reference<'a> {
    shape: GruShape,
    options: &'a GruOptions,
    /// `[B, T]`, 0 on padded steps.
    mask: Option<&'a [f32]>,
    /// `[B, H]`, recurrent dropout.
    recurrent_mask: Option<&'a [f32]>,
}

fn act64(act: Activation, x: f64) -> f64 {
    match act {
        Activation::Sigmoid => 1.0 / (1.0 + (-x).exp()),
        Activation::HardSigmoid => (0.2 * x + 0.5).clamp(0.0, 1.0),
        Activation::Tanh => x.tanh(),
        Activation::Relu => x.max(0.0),
        Activation::Linear => x,
        Activation::Softmax => unreachable!(),
    }
}

impl Reference<'_> {
    /// Forward in f64, one sequence element at a time.
    fn forward(&self, kernel: &[f64], recurrent: &[f64], bias: &[f64], x: &[f64], h0: &[f64]) -> Vec<f64> {
        let GruShape { batch, steps, input, units } = self.shape;
        let o = self.options;
        let h3 = 3 * units;
        let mut out = Vec::new();
        let mut last = Vec::new();
        for b in 0..batch {
            let mut h: Vec<f64> = h0[b * units..(b + 1) * units].to_vec();
            let drop = |h: &[f64]| -> Vec<f64> {
                match self.recurrent_mask {
                    Some(m) => h.iter().enumerate().map(|(j, v)| v * f64::from(m[b * units + j])).collect(),
                    None => h.to_vec(),
                }
            };
            let mut seq = Vec::new();
            for s in 0..steps {
                let t = if o.go_backwards { steps - 1 - s } else { s };
                let xt = &x[(b * steps + t) * input..(b * steps + t + 1) * input];
                let xw = |col: usize| bias[col] + (0..input).map(|i| xt[i] * kernel[i * h3 + col]).sum::<f64>();
                let hu = |v: &[f64], col: usize| (0..units).map(|k| v[k] * recurrent[k * h3 + col]).sum::<f64>();
                let recurrent_bias = |col: usize| if o.reset_after { bias[h3 + col] } else { 0.0 };
                let hd = drop(&h);
                let z: Vec<f64> =
                    (0..units).map(|j| act64(o.recurrent_activation, xw(j) + hu(&hd, j) + recurrent_bias(j))).collect();
                let r: Vec<f64> = (0..units)
                    .map(|j| {
                        act64(o.recurrent_activation, xw(units + j) + hu(&hd, units + j) + recurrent_bias(units + j))
                    })
                    .collect();
                let candidate: Vec<f64> = if o.reset_after {
                    (0..units)
                        .map(|j| {
                            let col = 2 * units + j;
                            act64(o.activation, xw(col) + r[j] * (hu(&hd, col) + recurrent_bias(col)))
                        })
                        .collect()
                } else {
                    let rh: Vec<f64> = (0..units).map(|k| r[k] * hd[k]).collect();
                    (0..units).map(|j| act64(o.activation, xw(2 * units + j) + hu(&rh, 2 * units + j))).collect()
                };
                if self.mask.is_none_or(|m| m[b * steps + t] != 0.0) {
                    h = (0..units).map(|j| z[j] * h[j] + (1.0 - z[j]) * candidate[j]).collect();
                }
                seq.extend_from_slice(&h);
            }
            out.extend(seq);
            last.extend(h);
        }
        if o.return_sequences {
            out
        } else {
            last
        }
    }
}

fn check(shape: GruShape, options: GruOptions, use_bias: bool, seed: u64) {
    check_masked(shape, options, use_bias, seed, None);
}

fn check_masked(shape: GruShape, options: GruOptions, use_bias: bool, seed: u64, mask: Option<&[f32]>) {
    check_dropped(shape, options, use_bias, seed, mask, None);
}

fn check_dropped(
    shape: GruShape,
    options: GruOptions,
    use_bias: bool,
    seed: u64,
    mask: Option<&[f32]>,
    recurrent_mask: Option<&[f32]>,
) {
    let GruShape { batch, steps, input, units } = shape;
    let mut rng = TestRng::new(seed);
    let kernel = rng.vec(input * 3 * units, -0.6, 0.6);
    let recurrent = rng.vec(units * 3 * units, -0.6, 0.6);
    let bias_len = if options.reset_after { 6 * units } else { 3 * units };
    let bias = if use_bias { rng.vec(bias_len, -0.3, 0.3) } else { vec![0.0; bias_len] };
    let x = rng.vec(batch * steps * input, -1.0, 1.0);
    let h0 = rng.vec(batch * units, -0.5, 0.5);
    let out_len = if options.return_sequences { batch * steps * units } else { batch * units };
    let upstream = rng.vec(out_len, -1.0, 1.0);
    let params = GruParams { kernel: &kernel, recurrent_kernel: &recurrent, bias: use_bias.then_some(&bias[..]) };
    let mut ws = GemmWorkspace::new();

    let mut cache = vec![f32::NAN; gru_cache_len(shape).unwrap()];
    let mut out = vec![0.0; out_len];
    gru_forward(shape, &options, &params, &x, Some(&h0), mask, recurrent_mask, &mut out, Some(&mut cache), &mut ws)
        .unwrap();
    let mut out_inference = vec![0.0; out_len];
    gru_forward(shape, &options, &params, &x, Some(&h0), mask, recurrent_mask, &mut out_inference, None, &mut ws)
        .unwrap();
    assert_eq!(out, out_inference, "training and inference forwards differ");

    let reference = Reference { shape, options: &options, mask, recurrent_mask };
    let (k64, u64_, b64, x64, h064) = (to_f64(&kernel), to_f64(&recurrent), to_f64(&bias), to_f64(&x), to_f64(&h0));
    let what = format!("{shape:?} {options:?} bias={use_bias}");
    assert_close(&format!("{what} forward"), &out, &reference.forward(&k64, &u64_, &b64, &x64, &h064), 1e-5, 1e-5);

    let mut dk = vec![0.0; kernel.len()];
    let mut du = vec![0.0; recurrent.len()];
    let mut db = vec![0.0; bias.len()];
    let mut dx = vec![0.0; x.len()];
    let mut dh0 = vec![0.0; h0.len()];
    let grads = GruGrads {
        kernel: &mut dk,
        recurrent_kernel: &mut du,
        bias: use_bias.then_some(&mut db[..]),
        x: Some(&mut dx),
        initial_state: Some(&mut dh0),
    };
    gru_backward(shape, &options, &params, &x, &cache, mask, recurrent_mask, &upstream, grads, &mut ws).unwrap();

    let loss = |out: Vec<f64>| out.iter().zip(&upstream).map(|(o, &u)| o * f64::from(u)).sum::<f64>();
    let h = 1e-6;
    let (abs, rel) = (1e-4, 1e-3);
    let num = numeric_gradient(&k64, h, |p| loss(reference.forward(p, &u64_, &b64, &x64, &h064)));
    assert_close(&format!("{what} dKernel"), &dk, &num, abs, rel);
    let num = numeric_gradient(&u64_, h, |p| loss(reference.forward(&k64, p, &b64, &x64, &h064)));
    assert_close(&format!("{what} dRecurrentKernel"), &du, &num, abs, rel);
    if use_bias {
        let num = numeric_gradient(&b64, h, |p| loss(reference.forward(&k64, &u64_, p, &x64, &h064)));
        assert_close(&format!("{what} dBias"), &db, &num, abs, rel);
    }
    let num = numeric_gradient(&x64, h, |p| loss(reference.forward(&k64, &u64_, &b64, p, &h064)));
    assert_close(&format!("{what} dX"), &dx, &num, abs, rel);
    let num = numeric_gradient(&h064, h, |p| loss(reference.forward(&k64, &u64_, &b64, &x64, p)));
    assert_close(&format!("{what} dInitialState"), &dh0, &num, abs, rel);

    // ∂U and the recurrent bias accumulated over chunks of steps (here one
    // step, and two) equal the one-chunk result checked above.
    for chunk_steps in [1, 2] {
        let mut dk_chunked = vec![0.0; kernel.len()];
        let mut du_chunked = vec![0.0; recurrent.len()];
        let mut db_chunked = vec![0.0; bias.len()];
        let mut dx_chunked = vec![0.0; x.len()];
        let grads = GruGrads {
            kernel: &mut dk_chunked,
            recurrent_kernel: &mut du_chunked,
            bias: use_bias.then_some(&mut db_chunked[..]),
            x: Some(&mut dx_chunked),
            initial_state: None,
        };
        backward_in_chunks(
            shape,
            &options,
            &params,
            &x,
            &cache,
            mask,
            recurrent_mask,
            &upstream,
            grads,
            &mut ws,
            chunk_steps * batch,
        )
        .unwrap();
        assert_close(
            &format!("{what} dRecurrentKernel in {chunk_steps}-step chunks"),
            &du_chunked,
            &to_f64(&du),
            1e-6,
            1e-5,
        );
        if use_bias {
            assert_close(&format!("{what} dBias in {chunk_steps}-step chunks"), &db_chunked, &to_f64(&db), 1e-6, 1e-5);
        }
    }
}

#[test]
fn every_option_against_reference_and_finite_differences() {
    let shapes = [
        GruShape { batch: 2, steps: 4, input: 3, units: 5 },
        GruShape { batch: 1, steps: 1, input: 1, units: 1 },
        GruShape { batch: 3, steps: 6, input: 2, units: 9 },
    ];
    let mut seed = 0;
    for shape in shapes {
        for reset_after in [false, true] {
            for go_backwards in [false, true] {
                for return_sequences in [false, true] {
                    seed += 1;
                    let options = GruOptions { reset_after, go_backwards, return_sequences, ..GruOptions::default() };
                    check(shape, options, true, seed);
                }
            }
        }
    }
}

#[test]
fn other_activations_and_no_bias() {
    let shape = GruShape { batch: 2, steps: 5, input: 3, units: 4 };
    for (seed, reset_after) in [(50, false), (51, true)] {
        let options = GruOptions {
            reset_after,
            return_sequences: true,
            recurrent_activation: Activation::HardSigmoid,
            activation: Activation::Tanh,
            ..GruOptions::default()
        };
        check(shape, options, true, seed);
        let options = GruOptions { reset_after, activation: Activation::Linear, ..GruOptions::default() };
        check(shape, options, false, seed + 10);
    }
}

#[test]
fn batches_longer_than_one_chunk() {
    // 60 × 21 = 1,260 rows: the input projection, ∂W, ∂x and ∂U in chunks of
    // 9, 9 and 3 steps, in both directions and both reset placements.
    let shape = GruShape { batch: 60, steps: 21, input: 2, units: 3 };
    for (seed, reset_after, go_backwards) in [(90, false, false), (91, true, true)] {
        let options = GruOptions { reset_after, go_backwards, return_sequences: true, ..GruOptions::default() };
        check(shape, options, true, seed);
    }
}

#[test]
fn wider_than_one_micro_tile() {
    // Units and batch past MR/NR and with ragged edges, so every GEMM path runs.
    let shape = GruShape { batch: 5, steps: 3, input: 7, units: 11 };
    check(shape, GruOptions { reset_after: true, return_sequences: true, ..GruOptions::default() }, true, 77);
    check(shape, GruOptions { go_backwards: true, ..GruOptions::default() }, true, 78);
}

#[test]
fn masked_steps_carry_the_state_and_its_gradient() {
    // Sequence 0 padded at the end, sequence 1 at the start, sequence 2 in
    // the middle: every pattern, both reading directions, both reset forms.
    let shape = GruShape { batch: 3, steps: 5, input: 2, units: 4 };
    let mask = [1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0, 0.0, 1.0, 0.0, 1.0];
    let mut seed = 90;
    for reset_after in [false, true] {
        for go_backwards in [false, true] {
            for return_sequences in [false, true] {
                seed += 1;
                let options = GruOptions { reset_after, go_backwards, return_sequences, ..GruOptions::default() };
                check_masked(shape, options, true, seed, Some(&mask));
            }
        }
    }
}

#[test]
fn recurrent_dropout_masks_the_recurrent_products() {
    // A mask with zeros and inverted-dropout scales, with and without a
    // sequence mask: forward against the reference, gradients against
    // finite differences.
    let shape = GruShape { batch: 2, steps: 4, input: 3, units: 5 };
    let recurrent_mask = [2.0, 0.0, 2.0, 2.0, 0.0, 0.0, 2.0, 2.0, 0.0, 2.0];
    let steps_mask = [1.0, 1.0, 0.0, 1.0, 0.0, 1.0, 1.0, 1.0];
    let mut seed = 120;
    for reset_after in [false, true] {
        for go_backwards in [false, true] {
            seed += 1;
            let options = GruOptions { reset_after, go_backwards, return_sequences: true, ..GruOptions::default() };
            check_dropped(shape, options, true, seed, None, Some(&recurrent_mask));
            check_dropped(shape, options, true, seed + 50, Some(&steps_mask), Some(&recurrent_mask));
        }
    }
}

#[test]
fn zero_state_is_the_default() {
    let shape = GruShape { batch: 2, steps: 3, input: 2, units: 3 };
    let options = GruOptions::default();
    let mut rng = TestRng::new(9);
    let (k, u, x) = (rng.vec(18, -1.0, 1.0), rng.vec(27, -1.0, 1.0), rng.vec(12, -1.0, 1.0));
    let params = GruParams { kernel: &k, recurrent_kernel: &u, bias: None };
    let (mut a, mut b) = (vec![0.0; 6], vec![0.0; 6]);
    let mut ws = GemmWorkspace::new();
    gru_forward(shape, &options, &params, &x, None, None, None, &mut a, None, &mut ws).unwrap();
    gru_forward(shape, &options, &params, &x, Some(&[0.0; 6]), None, None, &mut b, None, &mut ws).unwrap();
    assert_eq!(a, b);
}

#[test]
fn errors_name_the_argument() {
    let shape = GruShape { batch: 2, steps: 3, input: 2, units: 3 };
    let options = GruOptions { reset_after: true, ..GruOptions::default() };
    let (k, u, bias) = (vec![0.0; 18], vec![0.0; 27], vec![0.0; 9]);
    let params = GruParams { kernel: &k, recurrent_kernel: &u, bias: Some(&bias) };
    let mut out = vec![0.0; 6];
    let err =
        gru_forward(shape, &options, &params, &[0.0; 12], None, None, None, &mut out, None, &mut GemmWorkspace::new())
            .unwrap_err();
    assert_eq!(err.to_string(), "gru_forward: `bias` has 9 floats, expected 18 for shape [2, 9]");
    let shape0 = GruShape { steps: 0, ..shape };
    let err = gru_forward(shape0, &options, &params, &[], None, None, None, &mut out, None, &mut GemmWorkspace::new())
        .unwrap_err();
    assert_eq!(err.to_string(), "gru_forward: `steps` must be at least 1, got 0");
}
