//! Test support: a seeded generator, closeness checks, finite differences.

use crate::init::SplitMix64;

/// Seeded test data, drawn from the initializers' generator.
pub struct TestRng(SplitMix64);

impl TestRng {
    pub fn new(seed: u64) -> Self {
        TestRng(SplitMix64::new(seed))
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }

    /// Uniform in `[lo, hi)`.
    pub fn uniform(&mut self, lo: f32, hi: f32) -> f32 {
        let unit = (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32;
        lo + (hi - lo) * unit
    }

    pub fn vec(&mut self, len: usize, lo: f32, hi: f32) -> Vec<f32> {
        (0..len).map(|_| self.uniform(lo, hi)).collect()
    }
}

/// Asserts `|a - b| <= abs + rel * |b|` elementwise, naming the first failure.
pub fn assert_close(what: &str, actual: &[f32], expected: &[f64], abs: f64, rel: f64) {
    assert_eq!(actual.len(), expected.len(), "{what}: lengths differ");
    for (i, (&a, &e)) in actual.iter().zip(expected).enumerate() {
        let err = (f64::from(a) - e).abs();
        assert!(
            err <= abs + rel * e.abs(),
            "{what}[{i}]: got {a}, expected {e} (|diff| {err:e} > {abs:e} + {rel:e}·|expected|)"
        );
    }
}

/// Central finite differences of a scalar function of `params`, in `f64`:
/// `(f(p + h·e_i) − f(p − h·e_i)) / 2h` for every `i`.
pub fn numeric_gradient(params: &[f64], h: f64, mut f: impl FnMut(&[f64]) -> f64) -> Vec<f64> {
    let mut probe = params.to_vec();
    (0..params.len())
        .map(|i| {
            probe[i] = params[i] + h;
            let up = f(&probe);
            probe[i] = params[i] - h;
            let down = f(&probe);
            probe[i] = params[i];
            (up - down) / (2.0 * h)
        })
        .collect()
}

pub fn to_f64(values: &[f32]) -> Vec<f64> {
    values.iter().map(|&v| f64::from(v)).collect()
}

pub fn to_f32(values: &[f64]) -> Vec<f32> {
    values.iter().map(|&v| v as f32).collect()
}
