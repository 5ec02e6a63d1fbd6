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

use crate::ops::keep_nan;

const LOG2_E: f32 = std::f32::consts::LOG2_E;
/// ln 2 split so that `n·LN2_HI` is exact for |n| < 2⁸.
const LN2_HI: f32 = 0.693_145_75;
const LN2_LO: f32 = 1.428_606_8e-6;
/// Adding and subtracting 1.5·2²³ rounds an f32 to the nearest integer.
const ROUND_MAGIC: f32 = 12_582_912.0;
/// Beyond these, `2ⁿ` would leave the normal floats (n ∉ [−126, 127]).
const EXP_MAX: f32 = 88.3;
const EXP_MIN: f32 = -87.33;
/// e⁻ˣ below this leaves sigmoid(x) at exactly 1 in f32.
const SIGMOID_ONE: f32 = 18.0;
/// tanh x rounds to ±1 in f32 beyond this.
const TANH_ONE: f32 = 9.0;

/// The functions' constants, as values. In a loop over a slice V8 (13.x)
/// rebuilds every `v128.const` at each use, several instructions each; taken
/// through [`Constants::opaque`], they are splatted once before the loop.
#[derive(Clone, Copy)]
pub struct Constants {
    log2_e: f32,
    ln2_hi: f32,
    ln2_lo: f32,
    round_magic: f32,
    exp_max: f32,
    exp_min: f32,
    /// 1/7!, 1/6!, …, 1/2!: the Taylor coefficients of expm1 beyond r.
    taylor: [f32; 6],
    exponent_bias: u32,
    sigmoid_one: f32,
    tanh_one: f32,
}

impl Constants {
    const VALUES: Constants = Constants {
        log2_e: LOG2_E,
        ln2_hi: LN2_HI,
        ln2_lo: LN2_LO,
        round_magic: ROUND_MAGIC,
        exp_max: EXP_MAX,
        exp_min: EXP_MIN,
        taylor: [1.0 / 5040.0, 1.0 / 720.0, 1.0 / 120.0, 1.0 / 24.0, 1.0 / 6.0, 0.5],
        exponent_bias: 127,
        sigmoid_one: SIGMOID_ONE,
        tanh_one: TANH_ONE,
    };

    /// The constants, opaque to the optimiser (so it cannot fold them back
    /// into the loop as literals).
    #[inline(always)]
    fn opaque() -> Self {
        core::hint::black_box(Self::VALUES)
    }

    /// `(2ⁿ, expm1(r))` with `x = n·ln2 + r`; `x` in [EXP_MIN, EXP_MAX].
    #[inline(always)]
    fn reduce(&self, x: f32) -> (f32, f32) {
        // Rounded by the magic number, x·log2(e) sits in the low mantissa
        // bits of `shifted`: 2ⁿ is built from those bits, with no float to
        // integer conversion (a dozen instructions per f32x4 on x64).
        let shifted = mul_add(x, self.log2_e, self.round_magic);
        let n = shifted - self.round_magic;
        let n_bits = shifted.to_bits().wrapping_sub(self.round_magic.to_bits());
        let scale = f32::from_bits(n_bits.wrapping_add(self.exponent_bias) << 23);
        let r = mul_add(-n, self.ln2_lo, mul_add(-n, self.ln2_hi, x));
        // expm1(r) = r + r²·p(r), p(r) = 1/2! + r/3! + … + r⁵/7!, in Estrin's
        // form: three pairs at once, then two steps in r², a dependency
        // chain two multiply-adds shorter than Horner's.
        let [c7, c6, c5, c4, c3, c2] = self.taylor;
        let r2 = r * r;
        let (low, middle, high) = (mul_add(c3, r, c2), mul_add(c5, r, c4), mul_add(c7, r, c6));
        let p = mul_add(mul_add(high, r2, middle), r2, low);
        (scale, mul_add(r2, p, r))
    }

    #[inline(always)]
    fn exp(&self, x: f32) -> f32 {
        let (scale, q) = self.reduce(clamp(x, self.exp_min, self.exp_max));
        saturate(x, scale * q + scale, 0.0)
    }

    #[inline(always)]
    fn expm1(&self, x: f32) -> f32 {
        let (scale, q) = self.reduce(clamp(x, self.exp_min, self.exp_max));
        saturate(x, scale * q + (scale - 1.0), -1.0)
    }

    /// `1 / (1 + e⁻ˣ)`. Past `x = 18` it is 1 in f32, so e⁻ˣ is taken at
    /// most at 18, inside exp's range; below `x = EXP_MIN` it is 0.
    #[inline(always)]
    fn sigmoid(&self, x: f32) -> f32 {
        let (scale, q) = self.reduce(clamp(-x, -self.sigmoid_one, self.exp_max));
        let value = 1.0 / (1.0 + mul_add(scale, q, scale));
        if x < self.exp_min {
            0.0
        } else {
            value
        }
    }

    /// `tanh x = expm1(2x) / (expm1(2x) + 2)`, with `x` clamped to ±9, where
    /// it is ±1 in f32 (and 2x stays inside expm1's range).
    #[inline(always)]
    fn tanh(&self, x: f32) -> f32 {
        let (scale, q) = self.reduce(2.0 * clamp(x, -self.tanh_one, self.tanh_one));
        let e = mul_add(scale, q, scale - 1.0);
        e / (e + 2.0)
    }
}

/// `a·b + c`. In the relaxed-SIMD builds LLVM may fuse it, and in the
/// vectorised loops does (one `f32x4.relaxed_madd`, one rounding where the
/// machine has FMA): there sigmoid takes 1.40 ns per value instead of 1.72,
/// tanh 1.27 instead of 1.70 (Node 24, this project's machine), and their
/// results may differ from the other builds' in the last bits, as the
/// GEMM's do (within 3 ulp of float64 in both: tests/relaxed-simd.test.ts).
/// Elsewhere two roundings, the same bits on every machine.
#[inline(always)]
fn mul_add(a: f32, b: f32, c: f32) -> f32 {
    #[cfg(target_feature = "relaxed-simd")]
    {
        core::intrinsics::fmuladdf32(a, b, c)
    }
    #[cfg(not(target_feature = "relaxed-simd"))]
    {
        a * b + c
    }
}

#[inline(always)]
fn clamp(x: f32, lo: f32, hi: f32) -> f32 {
    // Comparisons, not f32::clamp/min/max, which V8 compiles to a dozen
    // instructions per f32x4 for their NaN rules.
    let clamped = if x < lo { lo } else { x };
    keep_nan(x, if clamped > hi { hi } else { clamped })
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

/// `eˣ`: `+∞` above 88.3, `0` below −87.33 (where f32 turns subnormal).
#[inline(always)]
pub fn exp(x: f32) -> f32 {
    Constants::VALUES.exp(x)
}

/// `eˣ − 1`, accurate near 0 where `exp(x) − 1` would cancel.
#[inline(always)]
pub fn expm1(x: f32) -> f32 {
    Constants::VALUES.expm1(x)
}

/// `1 / (1 + e⁻ˣ)`
#[inline(always)]
pub fn sigmoid(x: f32) -> f32 {
    Constants::VALUES.sigmoid(x)
}

/// `tanh x`
#[inline(always)]
pub fn tanh(x: f32) -> f32 {
    Constants::VALUES.tanh(x)
}

/// Values per block of [`map_in_place`]: four f32x4, four independent
/// dependency chains, which the CPU overlaps.
const BLOCK: usize = 16;

/// `f` of every value, in place, with the constants opaque, a whole block
/// at a time: the last values, short of a block, go through a padded copy of
/// one. So every value takes the same (vectorised) instructions wherever it
/// sits in the slice, and in the relaxed-SIMD builds, where only vector
/// instructions fuse [`mul_add`], a value's result does not depend on the
/// slice's length: a GRU split between threads (whose parts see rows of a
/// few units) computes what one thread does, bit for bit.
#[inline(always)]
fn map_in_place(values: &mut [f32], f: impl Fn(&Constants, f32) -> f32) {
    let c = Constants::opaque();
    let map_block = |block: &mut [f32; BLOCK]| block.iter_mut().for_each(|v| *v = f(&c, *v));
    let (blocks, rest) = values.as_chunks_mut::<BLOCK>();
    blocks.iter_mut().for_each(map_block);
    if !rest.is_empty() {
        let mut padded = [0.0; BLOCK];
        padded[..rest.len()].copy_from_slice(rest);
        // Opaque, so that the optimiser cannot treat the padding's known
        // zeros apart from the values.
        let padded = core::hint::black_box(&mut padded);
        map_block(padded);
        rest.copy_from_slice(&padded[..rest.len()]);
    }
}

/// [`sigmoid`] of every value, in place; the same results, faster.
pub fn sigmoid_in_place(values: &mut [f32]) {
    map_in_place(values, Constants::sigmoid);
}

/// [`tanh`] of every value, in place; the same results, faster.
pub fn tanh_in_place(values: &mut [f32]) {
    map_in_place(values, Constants::tanh);
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

    /// The slice loops (vectorised, constants opaque) give the scalar
    /// functions' results bit for bit, remainders included.
    #[test]
    fn slices_equal_the_scalar_functions() {
        let mut inputs: Vec<f32> = sweep(-120.0, 120.0, 20_001).chain(sweep(-2.0, 2.0, 4_001)).collect();
        inputs.extend([f32::NAN, f32::INFINITY, f32::NEG_INFINITY, 0.0, -0.0, 1e30, -1e30, 17.9, 18.1, -87.4]);
        for len in [inputs.len(), 7, 9, 1] {
            let xs = &inputs[..len];
            let mut s = xs.to_vec();
            sigmoid_in_place(&mut s);
            let mut t = xs.to_vec();
            tanh_in_place(&mut t);
            for (i, &x) in xs.iter().enumerate() {
                assert_eq!(s[i].to_bits(), sigmoid(x).to_bits(), "sigmoid({x})");
                assert_eq!(t[i].to_bits(), tanh(x).to_bits(), "tanh({x})");
            }
        }
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
