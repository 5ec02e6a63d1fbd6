//! Weight initializers (Keras' definitions) and the seeded generator behind
//! them, so that a model built with the same seed starts bit-identical.

use crate::error::{KernelError, KernelResult};

/// SplitMix64 (Steele, Lea, Flood 2014): small, fast, and every seed gives a
/// full-period, well-mixed stream.
#[derive(Clone, Debug)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)` with 53 random bits.
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Standard normal (Box–Muller).
    pub fn next_normal(&mut self) -> f64 {
        let u1 = 1.0 - self.next_f64(); // (0, 1]: log stays finite
        let u2 = self.next_f64();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }
}

/// Keras initializers, for a weight of shape `[rows, cols]` (`rows` = the
/// product of all but the last axis: fan in; `cols`: fan out).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Initializer {
    Zeros,
    Ones,
    /// `U(−√(6/(fan_in + fan_out)), +…)`
    GlorotUniform,
    /// `N(0, 2/(fan_in + fan_out))`, truncated at two standard deviations.
    GlorotNormal,
    /// `U(−√(6/fan_in), +…)`
    HeUniform,
    /// `U(−0.05, 0.05)`: Keras' `RandomUniform` with its default bounds (an
    /// embedding's default).
    RandomUniform,
    /// A (semi-)orthogonal matrix from the QR decomposition of a Gaussian
    /// one, signs fixed so the distribution is uniform (Haar).
    Orthogonal,
}

impl Initializer {
    pub fn from_name(name: &str) -> KernelResult<Self> {
        Ok(match name {
            "zeros" => Initializer::Zeros,
            "ones" => Initializer::Ones,
            "glorotUniform" | "glorot_uniform" => Initializer::GlorotUniform,
            "glorotNormal" | "glorot_normal" => Initializer::GlorotNormal,
            "heUniform" | "he_uniform" => Initializer::HeUniform,
            "randomUniform" | "random_uniform" | "uniform" => Initializer::RandomUniform,
            "orthogonal" => Initializer::Orthogonal,
            other => {
                return Err(KernelError::new(
                    "initializer",
                    format!("unknown initializer '{other}' (expected zeros, ones, glorotUniform, glorotNormal, heUniform, randomUniform or orthogonal)"),
                ))
            }
        })
    }

    /// Fills `out` (`[rows, cols]`, row-major).
    pub fn fill(self, out: &mut [f32], rows: usize, cols: usize, seed: u64) {
        debug_assert_eq!(out.len(), rows * cols);
        let mut rng = SplitMix64::new(seed);
        let (fan_in, fan_out) = (rows as f64, cols as f64);
        match self {
            Initializer::Zeros => out.fill(0.0),
            Initializer::Ones => out.fill(1.0),
            Initializer::GlorotUniform => uniform(out, (6.0 / (fan_in + fan_out)).sqrt(), &mut rng),
            Initializer::HeUniform => uniform(out, (6.0 / fan_in).sqrt(), &mut rng),
            Initializer::RandomUniform => uniform(out, 0.05, &mut rng),
            Initializer::GlorotNormal => {
                // Keras divides by the std of a unit normal truncated at ±2.
                let std = (2.0 / (fan_in + fan_out)).sqrt() / 0.879_625_661_034_239_8;
                for v in out.iter_mut() {
                    let sample = loop {
                        let z = rng.next_normal();
                        if z.abs() <= 2.0 {
                            break z;
                        }
                    };
                    *v = (std * sample) as f32;
                }
            }
            Initializer::Orthogonal => orthogonal(out, rows, cols, &mut rng),
        }
    }
}

fn uniform(out: &mut [f32], limit: f64, rng: &mut SplitMix64) {
    out.iter_mut().for_each(|v| *v = (limit * (2.0 * rng.next_f64() - 1.0)) as f32);
}

/// Modified Gram–Schmidt on the `k = min(rows, cols)` Gaussian vectors of
/// length `n = max(rows, cols)`, kept as the rows of `basis` so every
/// operation runs over contiguous memory. The vectors are the columns of Q
/// in `A = QR`; normalising by positive norms makes `diag(R) > 0`, Keras'
/// sign convention.
fn orthogonal(out: &mut [f32], rows: usize, cols: usize, rng: &mut SplitMix64) {
    let (n, k) = (rows.max(cols), rows.min(cols));
    let mut basis: Vec<f64> = (0..n * k).map(|_| rng.next_normal()).collect();
    for i in 0..k {
        let (done, rest) = basis.split_at_mut((i + 1) * n);
        let v = &mut done[i * n..];
        let norm = dot(v, v).sqrt();
        v.iter_mut().for_each(|x| *x /= norm);
        for w in rest.chunks_exact_mut(n) {
            subtract_projection(v, w);
        }
    }
    if rows < cols {
        // The result is Qᵀ: its rows are the basis vectors.
        out.iter_mut().zip(&basis).for_each(|(o, &b)| *o = b as f32);
    } else {
        for r in 0..rows {
            for c in 0..cols {
                out[r * cols + c] = basis[c * n + r] as f32;
            }
        }
    }
}

/// `w ← w − (v·w)·v` for a unit vector `v`.
///
/// Not inlined on purpose: V8 runs a WebAssembly call in the tier it started
/// in, so one long call stays in its baseline compiler; as a small function
/// called many times this tiers up to optimised code within the first calls.
#[inline(never)]
fn subtract_projection(v: &[f64], w: &mut [f64]) {
    let d = dot(v, w);
    w.iter_mut().zip(v).for_each(|(w, &v)| *w -= d * v);
}

/// A dot product with eight independent partial sums: without them the
/// sum is one dependency chain that neither vectorises nor pipelines
/// (floating-point addition may not be reassociated by the compiler).
fn dot(a: &[f64], b: &[f64]) -> f64 {
    let mut partial = [0.0f64; 8];
    let (a_chunks, b_chunks) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f64 = a_chunks.remainder().iter().zip(b_chunks.remainder()).map(|(x, y)| x * y).sum();
    for (x, y) in a_chunks.zip(b_chunks) {
        for k in 0..8 {
            partial[k] += x[k] * y[k];
        }
    }
    partial.iter().sum::<f64>() + tail
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orthogonal_rows_or_columns_are_orthonormal() {
        for (rows, cols) in [(4, 12), (12, 4), (7, 7), (1, 5), (33, 99)] {
            let mut w = vec![0.0; rows * cols];
            Initializer::Orthogonal.fill(&mut w, rows, cols, 42);
            // The shorter side's vectors are orthonormal: WWᵀ = I (wide) or WᵀW = I (tall).
            let (count, len) = (rows.min(cols), rows.max(cols));
            let at = |v: usize, e: usize| f64::from(if rows <= cols { w[v * cols + e] } else { w[e * cols + v] });
            for a in 0..count {
                for b in 0..count {
                    let dot: f64 = (0..len).map(|e| at(a, e) * at(b, e)).sum();
                    let want = if a == b { 1.0 } else { 0.0 };
                    assert!((dot - want).abs() < 1e-5, "{rows}x{cols}: <{a},{b}> = {dot}");
                }
            }
        }
    }

    #[test]
    fn seeded_and_scaled() {
        let (mut a, mut b, mut c) = (vec![0.0; 600], vec![0.0; 600], vec![0.0; 600]);
        Initializer::GlorotUniform.fill(&mut a, 20, 30, 1);
        Initializer::GlorotUniform.fill(&mut b, 20, 30, 1);
        Initializer::GlorotUniform.fill(&mut c, 20, 30, 2);
        assert_eq!(a, b);
        assert_ne!(a, c);
        let limit = (6.0f32 / 50.0).sqrt();
        assert!(a.iter().all(|v| v.abs() <= limit));
        let mean_square: f32 = a.iter().map(|v| v * v).sum::<f32>() / 600.0;
        // Var of U(−l, l) is l²/3.
        assert!((mean_square - limit * limit / 3.0).abs() < 0.15 * limit * limit / 3.0, "{mean_square}");
        assert!(Initializer::from_name("lecunUniform").is_err());
        // Keras' RandomUniform: ±0.05 whatever the shape.
        let mut e = vec![0.0; 5000];
        Initializer::from_name("randomUniform").unwrap().fill(&mut e, 1000, 5, 3);
        assert!(e.iter().all(|v| v.abs() <= 0.05));
        let mean_square: f32 = e.iter().map(|v| v * v).sum::<f32>() / 5000.0;
        assert!((mean_square - 0.0025 / 3.0).abs() < 0.1 * 0.0025 / 3.0, "{mean_square}");
    }
}
