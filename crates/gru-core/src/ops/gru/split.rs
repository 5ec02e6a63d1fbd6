//! One inference forward shared by several threads, for a batch too small to
//! split by rows. One sequence's step is a matrix–vector product bound by
//! reading U (768 KiB for a GRU(256)); split by units, each thread reads
//! only its share of U, from its own core's cache.
//!
//! Part `p` of `P` owns a contiguous slice of the units: their columns of W,
//! U and the bias in all three gates. Every step it reads the whole state and
//! writes its units of the next one into an exchange buffer the parts share;
//! the parts meet after each step, and with `reset_after = false` also after
//! writing `r⊙h`, which every part's candidate reads whole.
//!
//! Each value is summed in the order [`super::gru_forward`] sums it, so the
//! output equals that of one thread bit for bit, whatever the number of parts.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use super::{blend, chunk_steps, gather_steps, project, recurrent_blocks, GruOptions, GruParams, GruShape, StepBiases};
use crate::cancel;
use crate::error::{expect_len, zeroed, KernelError, KernelResult};
use crate::gemm::{gemm_packed, GemmWorkspace, MatMut, MatRef, PackedB};

/// Floats at the start of the exchange buffer that hold the meeting words:
/// three are used, on a cache line of their own (the parts spin on it).
const HEADER: usize = 16;

/// Floats of the buffer the parts of a split forward share: the meeting
/// words, two states `[B, H]` (the current and the next) and `r⊙h` `[B, H]`.
pub fn gru_exchange_len(shape: GruShape) -> Option<usize> {
    shape.batch.checked_mul(shape.units)?.checked_mul(3)?.checked_add(HEADER)
}

/// Floats that several threads read and write at once, each its own
/// elements between two meetings. The protocol, not the borrow checker,
/// keeps the accesses apart, so every access is `unsafe`.
#[derive(Clone, Copy, Debug)]
pub struct Shared {
    ptr: *mut f32,
    len: usize,
}

// SAFETY: a `Shared` is a pointer into memory valid for the whole forward;
// which thread touches which floats when is fixed by the parts' protocol.
unsafe impl Send for Shared {}
// SAFETY: as above.
unsafe impl Sync for Shared {}

impl Shared {
    /// # Safety
    /// `ptr` must be valid and 4-byte aligned for reading and writing `len`
    /// floats for as long as the `Shared` is used, and nothing but the parts
    /// of one split forward may access them meanwhile.
    pub unsafe fn new(ptr: *mut f32, len: usize) -> Self {
        Shared { ptr, len }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// # Safety
    /// No part may write `start .. start + len` until the reader's next meeting.
    unsafe fn read(&self, start: usize, len: usize) -> &[f32] {
        assert!(start + len <= self.len, "shared read out of bounds");
        unsafe { std::slice::from_raw_parts(self.ptr.add(start), len) }
    }

    /// # Safety
    /// No other part may read or write `start .. start + len` until the
    /// writer's next meeting.
    #[allow(clippy::mut_from_ref)]
    unsafe fn write(&self, start: usize, len: usize) -> &mut [f32] {
        assert!(start + len <= self.len, "shared write out of bounds");
        unsafe { std::slice::from_raw_parts_mut(self.ptr.add(start), len) }
    }

    /// The word at float `index`, as an atomic.
    fn word(&self, index: usize) -> &AtomicU32 {
        assert!(index < self.len, "shared word out of bounds");
        // SAFETY: in bounds, 4-byte aligned (`new`), and only ever accessed
        // atomically by the parts.
        unsafe { &*(self.ptr.add(index) as *const AtomicU32) }
    }
}

/// Spins before a waiting part blocks: some tens of microseconds, far more
/// than a step takes, less than a partner's start-up lag (its call's message).
const SPINS: u32 = 1 << 15;
/// A part blocks for at most this long at a time, then checks again...
const BLOCK: Duration = Duration::from_millis(1);
/// ... and gives up after this many blocks (about 10 s).
const BLOCKS: u32 = 10_000;

/// The meeting place of the parts: the count of arrivals so far (every part
/// arrives once per meeting), a flag that abandons the forward, raised by a
/// part that failed or by the parts' owner when a thread running one died
/// (so no part waits for ever), and the count of parts blocked waiting.
struct Rendezvous<'a> {
    arrivals: &'a AtomicU32,
    abandoned: &'a AtomicU32,
    blocked: &'a AtomicU32,
    parts: u32,
}

impl Rendezvous<'_> {
    /// Arrives at meeting number `meeting` (1, 2, …) and waits for every part:
    /// spinning first (the parts run in step), then blocked on the arrivals
    /// count, which the last to arrive wakes.
    fn meet(&self, meeting: u32) -> KernelResult<()> {
        self.arrivals.fetch_add(1, Ordering::SeqCst);
        if self.blocked.load(Ordering::SeqCst) > 0 {
            wake_all(self.arrivals);
        }
        let everyone = self.parts * meeting;
        let (mut spins, mut blocks) = (0u32, 0u32);
        loop {
            let arrived = self.arrivals.load(Ordering::SeqCst);
            if arrived >= everyone {
                return Ok(());
            }
            if self.abandoned.load(Ordering::SeqCst) != 0 {
                return Err(KernelError::new(OP, "abandoned: another part failed, or the thread running it died"));
            }
            if spins < SPINS {
                spins += 1;
                std::hint::spin_loop();
            } else if blocks < BLOCKS {
                blocks += 1;
                self.blocked.fetch_add(1, Ordering::SeqCst);
                // An arrival after `arrived` was read makes the block return
                // at once; one after `blocked` was raised also wakes it.
                block_while(self.arrivals, arrived, BLOCK);
                self.blocked.fetch_sub(1, Ordering::SeqCst);
            } else {
                self.abandon();
                return Err(KernelError::new(OP, "the other parts did not arrive within 10 s"));
            }
        }
    }

    fn abandon(&self) {
        self.abandoned.store(1, Ordering::SeqCst);
        wake_all(self.arrivals);
    }
}

/// Blocks the thread while `word` holds `expected`, for at most `timeout`.
/// Only worker threads run parts, and they may block (a browser's main
/// thread may not).
fn block_while(word: &AtomicU32, expected: u32, timeout: Duration) {
    #[cfg(all(target_arch = "wasm32", target_feature = "atomics"))]
    // SAFETY: `word` is a live, aligned word of the shared memory.
    unsafe {
        core::arch::wasm32::memory_atomic_wait32(word.as_ptr().cast(), expected as i32, timeout.as_nanos() as i64);
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        let _ = (word, expected);
        std::thread::sleep(timeout.min(Duration::from_micros(50)));
    }
    // A wasm build without atomics has one thread: a single part, which
    // never waits.
    #[cfg(all(target_arch = "wasm32", not(target_feature = "atomics")))]
    let _ = (word, expected, timeout);
}

/// Wakes every thread blocked in [`block_while`] on `word`.
fn wake_all(word: &AtomicU32) {
    #[cfg(all(target_arch = "wasm32", target_feature = "atomics"))]
    // SAFETY: as in `block_while`.
    unsafe {
        core::arch::wasm32::memory_atomic_notify(word.as_ptr().cast(), u32::MAX);
    }
    #[cfg(not(all(target_arch = "wasm32", target_feature = "atomics")))]
    let _ = word;
}

const OP: &str = "gru_forward_part";

/// Which part of how many a thread computes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Part {
    pub index: usize,
    pub count: usize,
}

impl Part {
    /// The part's units: `start .. start + len`, as even a split as can be.
    fn units(&self, units: usize) -> (usize, usize) {
        let start = self.index * units / self.count;
        (start, (self.index + 1) * units / self.count - start)
    }
}

/// What one part of a split forward reads and writes (see
/// [`super::gru_forward`] for `x`, `initial_state` and `mask`).
#[derive(Clone, Copy)]
pub struct PartCall<'a> {
    pub x: &'a [f32],
    pub initial_state: Option<&'a [f32]>,
    pub mask: Option<&'a [f32]>,
    pub part: Part,
    /// [`gru_exchange_len`] floats; the first three must be zero when the
    /// first part starts (they count the meetings).
    pub exchange: Shared,
    /// `[B, T, H]` with `return_sequences`, else `[B, H]`; each part writes
    /// its units.
    pub output: Shared,
}

/// One part of an inference forward, run by one thread while the other
/// parts run at the same time on others, over the same exchange and output.
/// On an error the part raises the abandon flag, so the other parts stop too.
pub fn gru_forward_part(
    shape: GruShape,
    options: &GruOptions,
    params: &GruParams,
    call: PartCall,
    ws: &mut GemmWorkspace,
) -> KernelResult<()> {
    let exchange = call.exchange;
    let exchange_len = gru_exchange_len(shape).ok_or_else(|| KernelError::new(OP, "the exchange size overflows"))?;
    if exchange.len() != exchange_len {
        return Err(KernelError::new(OP, format!("`exchange` has {} floats, expected {exchange_len}", exchange.len())));
    }
    let rendezvous = Rendezvous {
        arrivals: exchange.word(0),
        abandoned: exchange.word(1),
        blocked: exchange.word(2),
        parts: u32::try_from(call.part.count).unwrap_or(u32::MAX),
    };
    let result = run_part(shape, options, params, call, &rendezvous, ws);
    if result.is_err() {
        rendezvous.abandon();
    }
    result
}

fn run_part(
    shape: GruShape,
    options: &GruOptions,
    params: &GruParams,
    call: PartCall,
    rendezvous: &Rendezvous,
    ws: &mut GemmWorkspace,
) -> KernelResult<()> {
    let PartCall { x, initial_state, mask, part, exchange, output } = call;
    shape.validate(OP, options, params)?;
    let GruShape { batch, steps, input, units } = shape;
    if part.count == 0 || part.count > units || part.index >= part.count {
        return Err(KernelError::new(
            OP,
            format!("part {} of {} is not a part of {units} units", part.index, part.count),
        ));
    }
    let meetings_per_step = if options.reset_after { 1 } else { 2 };
    let meetings = steps.checked_mul(meetings_per_step).and_then(|m| m.checked_add(1));
    if meetings.and_then(|m| m.checked_mul(part.count)).is_none_or(|n| n > u32::MAX as usize) {
        return Err(KernelError::new(OP, format!("{steps} steps need more meetings than can be counted")));
    }
    expect_len(OP, "x", x.len(), &[batch, steps, input])?;
    if let Some(h0) = initial_state {
        expect_len(OP, "initialState", h0.len(), &[batch, units])?;
    }
    if let Some(mask) = mask {
        expect_len(OP, "mask", mask.len(), &[batch, steps])?;
    }
    expect_len(OP, "output", output.len(), &shape.output_shape(options))?;

    let (first, width) = part.units(units);
    let (h3, w3) = (3 * units, 3 * width);
    // This part's columns of every gate, side by side: the weights of a GRU
    // of `width` units that reads a state of `units`.
    let kernel = gate_columns(params.kernel, input, units, first, width);
    let recurrent = gate_columns(params.recurrent_kernel, units, units, first, width);
    let bias = params.bias.map(|b| gate_columns(b, b.len() / h3, units, first, width));
    let own = GruParams { kernel: &kernel, recurrent_kernel: &recurrent, bias: bias.as_deref() };
    let own_shape = GruShape { units: width, ..shape };
    let recurrent = MatRef::row_major(&recurrent, units, w3);
    let (first_block, candidate_block) = recurrent_blocks(recurrent, width, options.reset_after);
    let (packed_first, packed_candidate) = (PackedB::new(first_block), candidate_block.map(PackedB::new));
    let zeros = zeroed(OP, "zero biases", w3)?;
    let biases = StepBiases::new(bias.as_deref(), w3, options.reset_after, &zeros);

    let chunk = chunk_steps(shape);
    let mut x_chunk = zeroed(OP, "a chunk of inputs", chunk * batch * input)?;
    let mut xw = zeroed(OP, "the input projection", chunk * batch * w3)?;
    let mut projection = zeroed(OP, "the recurrent projection", batch * w3)?;
    let mut gates = zeroed(OP, "the gates", batch * w3)?;
    let mut hu_h = zeroed(OP, "h·U_h + b_hh", if options.reset_after { width } else { 0 })?;
    let mut state = zeroed(OP, "the state", batch * units)?;
    let mut reset_state = zeroed(OP, "r⊙h", if options.reset_after { 0 } else { batch * units })?;

    let state_len = batch * units;
    let state_at = |s: usize| HEADER + (s % 2) * state_len;
    let reset_at = HEADER + 2 * state_len;
    for b in 0..batch {
        // SAFETY: until the first meeting, each part touches only its units.
        let h = unsafe { exchange.write(state_at(0) + b * units + first, width) };
        match initial_state {
            Some(h0) => h.copy_from_slice(&h0[b * units + first..b * units + first + width]),
            None => h.fill(0.0),
        }
    }
    let mut meeting = 1;
    rendezvous.meet(meeting)?;

    for s in 0..steps {
        cancel::check(OP)?;
        let t = shape.input_step(options, s);
        let local = s % chunk;
        if local == 0 {
            let rows = chunk.min(steps - s) * batch;
            gather_steps(shape, options, x, s, &mut x_chunk[..rows * input]);
            project(&own, &x_chunk[..rows * input], &mut xw[..rows * w3], own_shape, ws);
        }
        let xw = &xw[local * batch * w3..(local + 1) * batch * w3];
        // SAFETY: in step s every part reads the whole current state and
        // writes only its units of the next; the meeting that ends step s−1
        // separates them from the writes (and reads) of the step before.
        let h_shared = unsafe { exchange.read(state_at(s), state_len) };
        // The other parts just wrote most of it from other cores: copied in
        // one pass, its cache misses overlap, where the product's broadcasts
        // would meet them one at a time.
        state.copy_from_slice(h_shared);
        let h_prev = &state[..];
        let first_columns = if options.reset_after { w3 } else { 2 * width };
        let first_projection = &mut projection[..batch * first_columns];
        gemm_packed(
            1.0,
            MatRef::row_major(h_prev, batch, units),
            &packed_first,
            0.0,
            MatMut::row_major(first_projection, batch, first_columns),
            ws,
        );
        for b in 0..batch {
            let (xw, hu) = (&xw[b * w3..(b + 1) * w3], &first_projection[b * first_columns..(b + 1) * first_columns]);
            let g = &mut gates[b * w3..(b + 1) * w3];
            let (zr, candidate) = g.split_at_mut(2 * width);
            biases.update_and_reset(zr, xw, hu, width, options.recurrent_activation);
            let r = &zr[width..];
            if options.reset_after {
                let (product_h, xw_h) = (&hu[2 * width..], &xw[2 * width..]);
                biases.candidate_reset_after(candidate, &mut hu_h, product_h, r, xw_h, width, options.activation);
            } else {
                // SAFETY: each part writes its units of r⊙h, which all read
                // only after the meeting below.
                let reset = unsafe { exchange.write(reset_at + b * units + first, width) };
                let h = &h_prev[b * units + first..b * units + first + width];
                for j in 0..width {
                    reset[j] = r[j] * h[j];
                }
            }
        }
        if let Some(packed_candidate) = &packed_candidate {
            meeting += 1;
            rendezvous.meet(meeting)?;
            // SAFETY: every part wrote its units of r⊙h before the meeting;
            // none writes them again before the meeting that ends this step.
            reset_state.copy_from_slice(unsafe { exchange.read(reset_at, state_len) });
            let h_projection = &mut projection[..batch * width];
            gemm_packed(
                1.0,
                MatRef::row_major(&reset_state, batch, units),
                packed_candidate,
                0.0,
                MatMut::row_major(h_projection, batch, width),
                ws,
            );
            for b in 0..batch {
                let candidate = &mut gates[b * w3 + 2 * width..(b + 1) * w3];
                let (product_h, xw_h) =
                    (&h_projection[b * width..(b + 1) * width], &xw[b * w3 + 2 * width..(b + 1) * w3]);
                biases.candidate_reset_before(candidate, product_h, xw_h, width, options.activation);
            }
        }
        for b in 0..batch {
            let g = &gates[b * w3..(b + 1) * w3];
            let own_prev = &h_prev[b * units + first..b * units + first + width];
            // SAFETY: only this part writes its units of the next state.
            let h_next = unsafe { exchange.write(state_at(s + 1) + b * units + first, width) };
            if mask.is_some_and(|m| m[b * steps + t] == 0.0) {
                h_next.copy_from_slice(own_prev);
            } else {
                blend(&g[..width], &g[2 * width..], own_prev, h_next);
            }
            if options.return_sequences {
                // SAFETY: each part writes its own units of the output.
                let out = unsafe { output.write((b * steps + s) * units + first, width) };
                out.copy_from_slice(h_next);
            }
        }
        meeting += 1;
        rendezvous.meet(meeting)?;
    }
    if !options.return_sequences {
        for b in 0..batch {
            // SAFETY: this part's units of the last state, which only it wrote.
            let last = unsafe { exchange.read(state_at(steps) + b * units + first, width) };
            let out = unsafe { output.write(b * units + first, width) };
            out.copy_from_slice(last);
        }
    }
    Ok(())
}

/// Columns `first .. first + width` of each gate's block (z, r, h: `units`
/// columns apart) of a `rows × 3·units` matrix, side by side: `rows × 3·width`.
fn gate_columns(matrix: &[f32], rows: usize, units: usize, first: usize, width: usize) -> Vec<f32> {
    let mut out = Vec::with_capacity(rows * 3 * width);
    for row in matrix.chunks_exact(3 * units).take(rows) {
        for gate in 0..3 {
            out.extend_from_slice(&row[gate * units + first..gate * units + first + width]);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::gru::gru_forward;
    use crate::testing::TestRng;

    struct Case {
        shape: GruShape,
        options: GruOptions,
        weights: [Vec<f32>; 3],
        x: Vec<f32>,
        h0: Option<Vec<f32>>,
        mask: Option<Vec<f32>>,
    }

    impl Case {
        fn new(shape: GruShape, options: GruOptions, seed: u64, with_state: bool, masked: bool) -> Case {
            let GruShape { batch, steps, input, units } = shape;
            let mut rng = TestRng::new(seed);
            let bias_rows = if options.reset_after { 2 } else { 1 };
            let weights = [
                rng.vec(input * 3 * units, -0.5, 0.5),
                rng.vec(units * 3 * units, -0.5, 0.5),
                rng.vec(bias_rows * 3 * units, -0.5, 0.5),
            ];
            let x = rng.vec(batch * steps * input, -1.0, 1.0);
            let h0 = with_state.then(|| rng.vec(batch * units, -1.0, 1.0));
            let mask = masked.then(|| (0..batch * steps).map(|i| if i % 3 == 1 { 0.0 } else { 1.0 }).collect());
            Case { shape, options, weights, x, h0, mask }
        }

        fn params(&self) -> GruParams<'_> {
            let [kernel, recurrent_kernel, bias] = &self.weights;
            GruParams { kernel, recurrent_kernel, bias: Some(bias) }
        }

        fn output_len(&self) -> usize {
            self.shape.output_shape(&self.options).iter().product()
        }

        fn one_thread(&self) -> Vec<f32> {
            let mut out = vec![0.0; self.output_len()];
            let (h0, mask) = (self.h0.as_deref(), self.mask.as_deref());
            let mut ws = GemmWorkspace::new();
            gru_forward(self.shape, &self.options, &self.params(), &self.x, h0, mask, None, &mut out, None, &mut ws)
                .unwrap();
            out
        }

        /// The forward split in `count` parts, each on a thread of its own;
        /// `failing` makes that part fail its checks (a bad initial state).
        fn split(&self, count: usize, failing: Option<usize>) -> (Vec<f32>, Vec<KernelResult<()>>) {
            let mut out = vec![f32::NAN; self.output_len()];
            let mut exchange = vec![0.0; gru_exchange_len(self.shape).unwrap()];
            // SAFETY: both buffers outlive the scoped threads, which alone touch them.
            let (exchange, output) = unsafe {
                (Shared::new(exchange.as_mut_ptr(), exchange.len()), Shared::new(out.as_mut_ptr(), out.len()))
            };
            let short_state = [0.0f32];
            let results = std::thread::scope(|scope| {
                let threads: Vec<_> = (0..count)
                    .map(|index| {
                        scope.spawn(move || {
                            let h0 = if failing == Some(index) { Some(&short_state[..]) } else { self.h0.as_deref() };
                            let part = Part { index, count };
                            let params = self.params();
                            let mut ws = GemmWorkspace::new();
                            let mask = self.mask.as_deref();
                            gru_forward_part(
                                self.shape,
                                &self.options,
                                &params,
                                PartCall { x: &self.x, initial_state: h0, mask, part, exchange, output },
                                &mut ws,
                            )
                        })
                    })
                    .collect();
                threads.into_iter().map(|t| t.join().unwrap()).collect()
            });
            (out, results)
        }
    }

    #[test]
    fn parts_together_equal_one_thread_bit_for_bit() {
        let shapes = [
            GruShape { batch: 1, steps: 7, input: 5, units: 24 },
            GruShape { batch: 3, steps: 4, input: 9, units: 13 },
            GruShape { batch: 2, steps: 3, input: 3, units: 40 },
            // A unit per part.
            GruShape { batch: 2, steps: 5, input: 2, units: 4 },
        ];
        let mut seed = 0;
        for shape in shapes {
            for reset_after in [false, true] {
                for (go_backwards, return_sequences) in [(false, false), (true, true), (false, true)] {
                    let options = GruOptions { reset_after, go_backwards, return_sequences, ..GruOptions::default() };
                    seed += 1;
                    let case = Case::new(shape, options, seed, seed % 2 == 0, seed % 3 == 0);
                    let expected = case.one_thread();
                    for count in [1, 2, 3, 4] {
                        let (out, results) = case.split(count, None);
                        assert!(results.iter().all(Result::is_ok), "{shape:?} {options:?}: {results:?}");
                        assert_eq!(out, expected, "{shape:?} {options:?} in {count} parts");
                    }
                }
            }
        }
    }

    #[test]
    fn a_failing_part_stops_the_others() {
        for reset_after in [false, true] {
            let options = GruOptions { reset_after, ..GruOptions::default() };
            let case = Case::new(GruShape { batch: 2, steps: 5, input: 3, units: 8 }, options, 9, true, false);
            let (_, results) = case.split(3, Some(1));
            let message = |r: &KernelResult<()>| r.as_ref().unwrap_err().message.clone();
            assert!(message(&results[1]).contains("`initialState` has 1 floats"), "{results:?}");
            for other in [0, 2] {
                assert!(message(&results[other]).starts_with("abandoned"), "{results:?}");
            }
        }
    }

    #[test]
    fn parts_that_are_no_part_are_refused() {
        let case =
            Case::new(GruShape { batch: 1, steps: 2, input: 2, units: 3 }, GruOptions::default(), 4, false, false);
        let mut ws = GemmWorkspace::new();
        let mut exchange = vec![0.0; gru_exchange_len(case.shape).unwrap()];
        let mut out = vec![0.0; case.output_len()];
        for (index, count) in [(0, 4), (2, 2), (0, 0)] {
            // SAFETY: one thread, buffers alive for the call.
            let (shared_exchange, output) = unsafe {
                (Shared::new(exchange.as_mut_ptr(), exchange.len()), Shared::new(out.as_mut_ptr(), out.len()))
            };
            let part = Part { index, count };
            let err = gru_forward_part(
                case.shape,
                &case.options,
                &case.params(),
                PartCall { x: &case.x, initial_state: None, mask: None, part, exchange: shared_exchange, output },
                &mut ws,
            )
            .unwrap_err();
            assert_eq!(err.message, format!("part {index} of {count} is not a part of 3 units"));
            exchange[1] = 0.0;
        }
        // SAFETY: as above.
        let (short, output) =
            unsafe { (Shared::new(exchange.as_mut_ptr(), 5), Shared::new(out.as_mut_ptr(), out.len())) };
        let err = gru_forward_part(
            case.shape,
            &case.options,
            &case.params(),
            PartCall {
                x: &case.x,
                initial_state: None,
                mask: None,
                part: Part { index: 0, count: 1 },
                exchange: short,
                output,
            },
            &mut ws,
        )
        .unwrap_err();
        assert_eq!(err.message, "`exchange` has 5 floats, expected 25");
    }
}
