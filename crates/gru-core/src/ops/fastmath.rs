//! `exp`, `expm1`, sigmoid and tanh for `f32`, written without branches or
//! calls so that loops over slices vectorise (f32x4 on wasm SIMD128): the
//! libm versions are scalar calls and cost more than the GEMMs around them in
//! a GRU step.
//!
//! Method: Cody–Waite range reduction `x = n·ln2 + r`, `|r| ≤ ln2/2`, a
//! degree-7 Taylor polynomial for `expm1(r)` (truncation < 2⁻²⁸ relative),
//! then scaling by `2ⁿ` built from the exponent bits. Errors (tested below
//! against f64 over [−87.3, 88.3], where every result is a normal float):
//! `exp` and `expm1` within 2 ulp, sigmoid and tanh within 3 ulp.

const LOG2_E: f32 = std::f32::consts::LOG2_E;
/// ln 2 split so that `n·LN2_HI` is exact for |n| < 2⁸.
const LN2_HI: f32 = 0.693_145_75;
const LN2_LO: f32 = 1.428_606_8e-6;
/// Adding and subtracting 1.5·2²³ rounds an f32 to the nearest integer.
const ROUND_MAGIC: f32 = 12_582_912.0;
/// Beyond these, `2ⁿ` would leave the normal floats (n ∉ [−126, 127]).
const EXP_MAX: f32 = 88.3;
const EXP_MIN: f32 = -87.33;

#[inline(always)]
fn clamp(x: f32, lo: f32, hi: f32) -> f32 {
    // Comparisons, not f32::clamp/min/max: these lower to f32x4 selects.
    let x = if x < lo { lo } else { x };
    if x > hi {
        hi
    } else {
        x
    }
}

/// `(n, expm1(r))` with `x = n·ln2 + r`.
#[inline(always)]
fn reduce(x: f32) -> (f32, f32) {
    let n = (x * LOG2_E + ROUND_MAGIC) - ROUND_MAGIC;
    let r = (x - n * LN2_HI) - n * LN2_LO;
    // expm1(r) = r + r²/2! + … + r⁷/7!, in Horner form.
    let p = 1.0 / 5040.0;
    let p = p * r + 1.0 / 720.0;
    let p = p * r + 1.0 / 120.0;
    let p = p * r + 1.0 / 24.0;
    let p = p * r + 1.0 / 6.0;
    let p = p * r + 0.5;
    (n, r + r * r * p)
}

/// `2ⁿ` for integral `n` in [−126, 127].
#[inline(always)]
fn pow2(n: f32) -> f32 {
    f32::from_bits(((n as i32 + 127) as u32) << 23)
}

/// `eˣ`: `+∞` above 88.3, `0` below −87.33 (where f32 turns subnormal).
#[inline(always)]
pub fn exp(x: f32) -> f32 {
    let (n, q) = reduce(clamp(x, EXP_MIN, EXP_MAX));
    let scale = pow2(n);
    saturate(x, scale * q + scale, 0.0)
}

/// `eˣ − 1`, accurate near 0 where `exp(x) − 1` would cancel.
#[inline(always)]
pub fn expm1(x: f32) -> f32 {
    let (n, q) = reduce(clamp(x, EXP_MIN, EXP_MAX));
    let scale = pow2(n);
    saturate(x, scale * q + (scale - 1.0), -1.0)
}

/// `value` inside the reduced range, `+∞` above it, `low` below it.
#[inline(always)]
fn saturate(x: f32, value: f32, low: f32) -> f32 {
    let value = if x > EXP_MAX { f32::INFINITY } else { value };
    if x < EXP_MIN {
        low
    } else {
        value
    }
}

/// `1 / (1 + e⁻ˣ)`
#[inline(always)]
pub fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + exp(-x))
}

/// `tanh x = expm1(2x) / (expm1(2x) + 2)`, exact in f32 to 1 past |x| = 9.
#[inline(always)]
pub fn tanh(x: f32) -> f32 {
    let e = expm1(2.0 * clamp(x, -9.0, 9.0));
    e / (e + 2.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Distance in units in the last place, measured at the true value.
    fn ulps(got: f32, exact: f64) -> f64 {
        let exact32 = exact as f32;
        let ulp = (f32::from_bits(exact32.abs().to_bits() + 1) - exact32.abs()) as f64;
        (f64::from(got) - exact).abs() / ulp
    }

    fn sweep(lo: f32, hi: f32, steps: usize) -> impl Iterator<Item = f32> {
        (0..=steps).map(move |i| lo + (hi - lo) * i as f32 / steps as f32)
    }

    #[test]
    fn accuracy_over_the_range() {
        let mut worst = [0.0f64; 4];
        for x in sweep(-87.3, 88.3, 400_000).chain(sweep(-1e-3, 1e-3, 10_000)) {
            let x64 = f64::from(x);
            worst[0] = worst[0].max(ulps(exp(x), x64.exp()));
            if x64.abs() < 80.0 {
                worst[1] = worst[1].max(ulps(expm1(x), x64.exp_m1()));
            }
            worst[2] = worst[2].max(ulps(sigmoid(x), 1.0 / (1.0 + (-x64).exp())));
            if x != 0.0 {
                worst[3] = worst[3].max(ulps(tanh(x), x64.tanh()));
            }
        }
        let [e, em1, s, t] = worst;
        assert!(e <= 2.0, "exp: {e} ulp");
        assert!(em1 <= 2.0, "expm1: {em1} ulp");
        assert!(s <= 3.0, "sigmoid: {s} ulp");
        assert!(t <= 3.0, "tanh: {t} ulp");
    }

    #[test]
    fn limits() {
        assert_eq!(tanh(0.0), 0.0);
        assert_eq!(tanh(20.0), 1.0);
        assert_eq!(tanh(-1e30), -1.0);
        assert_eq!(sigmoid(0.0), 0.5);
        assert_eq!(sigmoid(1e30), 1.0);
        assert_eq!(sigmoid(-1e30), 0.0);
        assert_eq!(exp(1e30), f32::INFINITY);
        assert_eq!(exp(-1e30), 0.0);
        assert_eq!(expm1(-1e30), -1.0);
        assert!(exp(f32::NAN).is_nan() && tanh(f32::NAN).is_nan() && sigmoid(f32::NAN).is_nan());
    }
}
