//! Each optimizer against its formula evaluated in f64, over several steps,
//! and a few values worked out by hand.

use super::adagrad::*;
use super::adam::*;
use super::clip::*;
use super::rmsprop::*;
use super::sgd::*;
use crate::testing::{assert_close, TestRng};

const STEPS: usize = 6;

fn grads(seed: u64, len: usize) -> Vec<Vec<f32>> {
    let mut rng = TestRng::new(seed);
    (0..STEPS).map(|_| rng.vec(len, -1.0, 1.0)).collect()
}

#[test]
fn sgd_by_hand() {
    // p = 1, g = 0.5, lr = 0.1: plain 0.95; momentum 0.9 twice: m = −0.05,
    // −0.095 so p = 0.95, 0.855; Nesterov: 1 − 0.045 − 0.05 = 0.905, then
    // 0.905 − 0.0855 − 0.05 = 0.7695.
    let mut p = [1.0];
    sgd_step(&SgdConfig { learning_rate: 0.1, momentum: 0.0, nesterov: false }, &mut p, &[0.5], None);
    assert_eq!(p, [0.95]);
    for (nesterov, expected) in [(false, [0.95, 0.855]), (true, [0.905, 0.7695])] {
        let config = SgdConfig { learning_rate: 0.1, momentum: 0.9, nesterov };
        let (mut p, mut m) = ([1.0f32], [0.0f32]);
        for want in expected {
            sgd_step(&config, &mut p, &[0.5], Some(&mut m));
            assert!((p[0] - want).abs() < 1e-6, "nesterov={nesterov}: {} vs {want}", p[0]);
        }
    }
}

#[test]
fn adam_and_adamw_follow_keras() {
    for (amsgrad, weight_decay) in [(false, 0.0), (true, 0.0), (false, 0.004)] {
        let config = AdamConfig { learning_rate: 0.01, beta1: 0.9, beta2: 0.999, epsilon: 1e-7, weight_decay };
        let len = 9;
        let mut rng = TestRng::new(3);
        let p0 = rng.vec(len, -1.0, 1.0);
        let (mut p, mut m, mut v, mut vmax) = (p0.clone(), vec![0.0; len], vec![0.0; len], vec![0.0; len]);
        let mut p64: Vec<f64> = p0.iter().map(|&x| f64::from(x)).collect();
        let (mut m64, mut v64, mut vmax64) = (vec![0.0f64; len], vec![0.0f64; len], vec![0.0f64; len]);
        for (t, g) in grads(4, len).iter().enumerate() {
            let step = t as u32 + 1;
            adam_step(&config, step, &mut p, g, &mut m, &mut v, amsgrad.then_some(&mut vmax[..]));
            let lr = 0.01f64;
            let lr_t = lr * (1.0 - 0.999f64.powi(step as i32)).sqrt() / (1.0 - 0.9f64.powi(step as i32));
            for i in 0..len {
                let g = f64::from(g[i]);
                p64[i] -= lr * f64::from(weight_decay) * p64[i];
                m64[i] = 0.9 * m64[i] + 0.1 * g;
                v64[i] = 0.999 * v64[i] + 0.001 * g * g;
                vmax64[i] = vmax64[i].max(v64[i]);
                let denom = if amsgrad { vmax64[i] } else { v64[i] }.sqrt() + 1e-7;
                p64[i] -= lr_t * m64[i] / denom;
            }
        }
        assert_close(&format!("adam amsgrad={amsgrad} wd={weight_decay}"), &p, &p64, 1e-6, 1e-5);
    }
}

#[test]
fn rmsprop_follows_keras() {
    for (centered, momentum) in [(false, 0.0), (true, 0.0), (false, 0.9), (true, 0.5)] {
        let config = RmspropConfig { learning_rate: 0.01, rho: 0.9, momentum, epsilon: 1e-7, centered };
        let len = 7;
        let p0 = TestRng::new(5).vec(len, -1.0, 1.0);
        let (mut p, mut s, mut a, mut u) = (p0.clone(), vec![0.0; len], vec![0.0; len], vec![0.0; len]);
        let mut p64: Vec<f64> = p0.iter().map(|&x| f64::from(x)).collect();
        let (mut s64, mut a64, mut u64_) = (vec![0.0f64; len], vec![0.0f64; len], vec![0.0f64; len]);
        for g in grads(6, len) {
            rmsprop_step(&config, &mut p, &g, &mut s, Some(&mut a), Some(&mut u));
            for i in 0..len {
                let g = f64::from(g[i]);
                s64[i] = 0.9 * s64[i] + 0.1 * g * g;
                a64[i] = 0.9 * a64[i] + 0.1 * g;
                let denom = if centered { s64[i] - a64[i] * a64[i] } else { s64[i] } + 1e-7;
                let inc = 0.01 * g / denom.sqrt();
                u64_[i] = momentum as f64 * u64_[i] + inc;
                p64[i] -= if momentum > 0.0 { u64_[i] } else { inc };
            }
        }
        assert_close(&format!("rmsprop centered={centered} momentum={momentum}"), &p, &p64, 1e-6, 1e-5);
    }
}

#[test]
fn adagrad_follows_keras() {
    let config = AdagradConfig { learning_rate: 0.1, epsilon: 1e-7 };
    let len = 5;
    let p0 = TestRng::new(7).vec(len, -1.0, 1.0);
    let (mut p, mut acc) = (p0.clone(), vec![0.1; len]);
    let mut p64: Vec<f64> = p0.iter().map(|&x| f64::from(x)).collect();
    let mut acc64 = vec![0.1f64; len];
    for g in grads(8, len) {
        adagrad_step(&config, &mut p, &g, &mut acc);
        for i in 0..len {
            let g = f64::from(g[i]);
            acc64[i] += g * g;
            p64[i] -= 0.1 * g / (acc64[i] + 1e-7).sqrt();
        }
    }
    assert_close("adagrad", &p, &p64, 1e-6, 1e-5);
}

#[test]
fn clipping() {
    // Norm of [3, 4] is 5: clipped to 1 → [0.6, 0.8].
    let mut g = [3.0, 4.0];
    clip_by_norm(&mut g, 1.0);
    assert_eq!(g, [0.6, 0.8]);
    let mut g = [3.0, 4.0];
    clip_by_norm(&mut g, 10.0);
    assert_eq!(g, [3.0, 4.0]);
    // Jointly: [3, 0] and [0, 4] have global norm 5.
    let (mut a, mut b) = ([3.0f32, 0.0], [0.0f32, 4.0]);
    let norm = clip_by_global_norm(&mut [&mut a[..], &mut b[..]], 2.5);
    assert_eq!(norm, 5.0);
    assert_eq!((a, b), ([1.5, 0.0], [0.0, 2.0]));
    let mut g = [-3.0, 0.5, 2.0];
    clip_by_value(&mut g, 1.0);
    assert_eq!(g, [-1.0, 0.5, 1.0]);
}
