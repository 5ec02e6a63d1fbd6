//! The WebAssembly surface of gru-wasm: the only `#[wasm_bindgen]` code.
//!
//! Tensors live in the module's linear memory and are named by the offset of
//! their allocation ([`alloc_f32`]). Every call takes offsets and dimensions,
//! checks each offset against the table of live allocations, and returns a
//! `Result` whose error wasm-bindgen throws as a JavaScript `Error` naming the
//! operation and argument. Nothing is ever read or written outside a live
//! allocation of the right size.

mod alloc;
mod args;
mod layers;
mod loss;
mod optim;
mod recurrent;
mod registry;
mod spin;
mod threads;

use args::Args;
use gru_core::gemm::{self, MatMut, MatRef};
use gru_core::init::Initializer;
use gru_core::KernelError;
use std::fmt::Write as _;
use threads::with_workspace;
use wasm_bindgen::prelude::*;

#[cfg(all(target_arch = "wasm32", not(target_feature = "simd128")))]
compile_error!("gru-wasm needs WebAssembly SIMD: build with RUSTFLAGS='-C target-feature=+simd128' (scripts/build.sh)");

fn js(error: KernelError) -> JsError {
    JsError::new(&error.to_string())
}

impl From<spin::Unusable> for JsError {
    fn from(unusable: spin::Unusable) -> JsError {
        // Composed at compile time: the allocator may be what is gone.
        JsError::new(unusable.message)
    }
}

/// The module's `WebAssembly.Memory` (shared in the threaded build).
#[wasm_bindgen(js_name = kernelMemory)]
pub fn kernel_memory() -> JsValue {
    wasm_bindgen::memory()
}

/// Whether this build runs over a shared memory with atomics.
#[wasm_bindgen(js_name = isThreaded)]
pub fn is_threaded() -> bool {
    cfg!(target_feature = "atomics")
}

/// Allocates `len` zeroed floats, 16-byte aligned; returns the byte offset.
#[wasm_bindgen(js_name = allocF32)]
pub fn alloc_f32(len: u32) -> Result<u32, JsError> {
    match registry::allocate(len) {
        Ok(address) => Ok(address as u32),
        Err(registry::Refused::Exhausted) => Err(out_of_memory(len)),
        Err(registry::Refused::Unusable(unusable)) => Err(unusable.into()),
    }
}

/// The error of an allocation the memory cannot hold. Its message names the
/// size when there is room left to write it: formatting allocates, and an
/// allocation failing here would trap instead of reporting.
fn out_of_memory(len: u32) -> JsError {
    const SHORT: &str = "allocF32: out of memory";
    let mut message = String::new();
    if message.try_reserve(SHORT.len() + 64).is_err() {
        return JsError::new(SHORT);
    }
    let _ = write!(message, "{SHORT} allocating {len} floats ({} bytes)", 4 * u64::from(len));
    JsError::new(&message)
}

/// Frees an allocation made by [`alloc_f32`]; does nothing once the memory
/// is unusable (see `spin`).
#[wasm_bindgen(js_name = freeF32)]
pub fn free_f32(offset: u32) -> Result<(), JsError> {
    match registry::release(offset as usize) {
        Ok(true) => Ok(()),
        Ok(false) => Err(JsError::new(&format!("freeF32: offset {offset} is not a live tensor (freed twice?)"))),
        // Nothing more can be freed, and nothing needs to be: cleanup (a
        // promise's rejection handler freeing its buffers) must not fail
        // on top of what made the memory unusable.
        Err(_) => Ok(()),
    }
}

/// Float count of a live allocation, or `undefined`.
#[wasm_bindgen(js_name = lengthF32)]
pub fn length_f32(offset: u32) -> Result<Option<u32>, JsError> {
    Ok(registry::length(offset as usize)?)
}

/// Makes this thread's long calls (a GRU's steps) stop with an error once
/// the first word of tensor `word` is set non-zero by any thread; `None`
/// stops watching. The tensor must outlive this thread's calls.
#[wasm_bindgen(js_name = watchCancel)]
pub fn watch_cancel(word: Option<u32>) -> Result<(), JsError> {
    let word = match word {
        Some(offset) => {
            if registry::length(offset as usize)?.is_none() {
                return Err(JsError::new(&format!("watchCancel: offset {offset} is not a live tensor")));
            }
            // SAFETY: a live allocation, 16-byte aligned, which the caller
            // keeps allocated while this thread runs; only accessed atomically.
            Some(unsafe { &*(offset as usize as *const std::sync::atomic::AtomicU32) })
        }
        None => None,
    };
    gru_core::cancel::watch(word);
    Ok(())
}

/// This thread's number among the threads of the kernel's memory.
#[wasm_bindgen(js_name = threadId)]
pub fn thread_id() -> u32 {
    threads::thread_id()
}

/// Records where this thread's stack and thread-local block are (the values
/// of `__tls_base` and `__stack_alloc` here): a worker, as it attaches, so
/// that [`free_thread`] can free them if it never leaves by itself.
#[wasm_bindgen(js_name = recordThreadMemory)]
pub fn record_thread_memory(tls_base: u32, stack_alloc: u32) -> Result<(), JsError> {
    Ok(threads::record_memory(threads::ThreadMemory { tls_base, stack_alloc })?)
}

/// A worker's last call before it frees its own stack (wasm-bindgen's
/// `__wbindgen_thread_destroy`): frees its packing buffers.
#[wasm_bindgen(js_name = leaveThread)]
pub fn leave_thread() -> Result<(), JsError> {
    Ok(threads::leave()?)
}

/// Frees what thread `thread`, a worker that is gone, still held: its
/// tensors and packing buffers. Returns `[tls_base, stack_alloc]` of its
/// stack and thread-local block for the caller to free with
/// `__wbindgen_thread_destroy`, or nothing when the worker freed them itself
/// ([`leave_thread`]). Refuses this thread.
#[wasm_bindgen(js_name = freeThread)]
pub fn free_thread(thread: u32) -> Result<Option<Vec<u32>>, JsError> {
    if thread == threads::thread_id() {
        return Err(JsError::new("freeThread: a thread cannot free itself this way"));
    }
    registry::release_thread(thread)?;
    Ok(threads::release(thread)?.map(|memory| vec![memory.tls_base, memory.stack_alloc]))
}

/// `undefined` while the memory is usable; once a thread was found stopped
/// inside one of its locks (see `spin`), the error every call reports.
#[wasm_bindgen(js_name = memoryUnusable)]
pub fn memory_unusable() -> JsValue {
    spin::MEMORY.get().map_or(JsValue::UNDEFINED, |unusable| JsError::from(unusable).into())
}

/// Holds one of the memory's locks on this thread for `ms` milliseconds (0:
/// the allocator, 1: the tensor table, 2: the thread table): how a test
/// stops a worker inside one.
#[doc(hidden)]
#[wasm_bindgen(js_name = holdLockForTests)]
pub fn hold_lock_for_tests(lock: u32, ms: f64) -> Result<(), JsError> {
    match lock {
        0 => Ok(alloc::hold_lock(ms)?),
        1 => Ok(registry::hold_lock(ms)?),
        2 => Ok(threads::hold_lock(ms)?),
        _ => Err(JsError::new("holdLockForTests: lock is 0, 1 or 2")),
    }
}

/// Bytes held by live tensors.
#[wasm_bindgen(js_name = liveBytes)]
pub fn live_bytes() -> Result<f64, JsError> {
    Ok(registry::live()?.0 as f64)
}

/// Number of live tensors.
#[wasm_bindgen(js_name = liveTensors)]
pub fn live_tensors() -> Result<u32, JsError> {
    Ok(registry::live()?.1)
}

/// Fills a `[rows, cols]` tensor with a Keras initializer (`rows` is the
/// fan in, `cols` the fan out), from `seed`.
#[wasm_bindgen]
pub fn initialize(name: &str, tensor: u32, rows: u32, cols: u32, seed: u32) -> Result<(), JsError> {
    const OP: &str = "initialize";
    let initializer = Initializer::from_name(name).map_err(js)?;
    let out = Args::new(OP).write("tensor", tensor)?;
    gru_core::error::expect_len(OP, "tensor", out.len(), &[rows as usize, cols as usize]).map_err(js)?;
    initializer.fill(out, rows as usize, cols as usize, u64::from(seed));
    Ok(())
}

/// Sets every element of a tensor to `value`.
#[wasm_bindgen]
pub fn fill(tensor: u32, value: f32) -> Result<(), JsError> {
    Args::new("fill").write("tensor", tensor)?.fill(value);
    Ok(())
}

/// `C ← α·op(A)·op(B) + β·C`, all row-major; `op(A)` is `m × k`, `op(B)`
/// is `k × n`. With `β = 0`, C is not read.
#[allow(clippy::too_many_arguments)]
#[wasm_bindgen]
pub fn gemm(
    trans_a: bool,
    trans_b: bool,
    m: u32,
    n: u32,
    k: u32,
    alpha: f32,
    a: u32,
    b: u32,
    beta: f32,
    c: u32,
) -> Result<(), JsError> {
    const OP: &str = "gemm";
    let (m, n, k) = (m as usize, n as usize, k as usize);
    let mut args = Args::new(OP);
    let a = args.read("a", a)?;
    let b = args.read("b", b)?;
    let c = args.write("c", c)?;
    let check =
        |name: &str, got: usize, shape: [usize; 2]| gru_core::error::expect_len(OP, name, got, &shape).map_err(js);
    check("a", a.len(), if trans_a { [k, m] } else { [m, k] })?;
    check("b", b.len(), if trans_b { [n, k] } else { [k, n] })?;
    check("c", c.len(), [m, n])?;
    let a = if trans_a { MatRef::row_major(a, k, m).t() } else { MatRef::row_major(a, m, k) };
    let b = if trans_b { MatRef::row_major(b, n, k).t() } else { MatRef::row_major(b, k, n) };
    with_workspace(|ws| gemm::gemm(alpha, a, b, beta, MatMut::row_major(c, m, n), ws))?;
    Ok(())
}
