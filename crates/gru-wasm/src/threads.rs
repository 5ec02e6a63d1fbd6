//! What each thread of the shared memory holds apart from its tensors: its
//! GEMM packing buffers and, for a worker, the stack and thread-local block
//! that wasm-bindgen allocated for it when it attached.
//!
//! They are kept in one table by thread number, not in thread-locals, so
//! that another thread can free them once a worker is gone: on wasm a
//! thread-local's destructor never runs, and a worker that is killed (or
//! exits after a trap) runs nothing at all. Left behind, each worker would
//! cost the memory its stack (1 MiB) and its packing buffers (up to 1.1 MiB)
//! for as long as the page or process lives.

use crate::spin::SpinLock;
use gru_core::gemm::GemmWorkspace;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU32, Ordering};

static NEXT_THREAD: AtomicU32 = AtomicU32::new(1);

thread_local! {
    static THREAD: u32 = NEXT_THREAD.fetch_add(1, Ordering::Relaxed);
}

/// This thread's number among the threads of the memory (1, 2, …, in the
/// order they first ask).
pub fn thread_id() -> u32 {
    THREAD.with(|id| *id)
}

/// Where a worker's stack and thread-local block are: the values of the
/// module's `__stack_alloc` and `__tls_base` globals on that worker, which
/// wasm-bindgen's `__wbindgen_thread_destroy` takes to free them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ThreadMemory {
    pub tls_base: u32,
    pub stack_alloc: u32,
}

#[derive(Default)]
struct ThreadState {
    /// `None` until the thread's first product, and while a call has it out.
    workspace: Option<GemmWorkspace>,
    /// Recorded by a worker as it attaches.
    memory: Option<ThreadMemory>,
}

static THREADS: SpinLock<BTreeMap<u32, ThreadState>> = SpinLock::new(BTreeMap::new());

/// Runs `f` with this thread's packing buffers, grown by its earlier calls
/// and kept for its later ones (a GRU multiplies once per time step).
pub fn with_workspace<T>(f: impl FnOnce(&mut GemmWorkspace) -> T) -> T {
    let thread = thread_id();
    let taken = THREADS.lock().entry(thread).or_default().workspace.take();
    let mut workspace = taken.unwrap_or_default();
    let result = f(&mut workspace);
    THREADS.lock().entry(thread).or_default().workspace = Some(workspace);
    result
}

/// Records where this thread's stack and thread-local block are (a worker,
/// as it attaches), for [`release`].
pub fn record_memory(memory: ThreadMemory) {
    THREADS.lock().entry(thread_id()).or_default().memory = Some(memory);
}

/// This thread's leaving (a worker closing): frees its packing buffers and
/// forgets its stack, which the caller frees next, itself, through
/// wasm-bindgen. Once this has run, [`release`] frees nothing of it twice.
pub fn leave() {
    let state = THREADS.lock().remove(&thread_id());
    drop(state);
}

/// Frees the packing buffers of thread `thread`, a worker that is gone, and
/// returns where its stack and thread-local block are for the caller to free,
/// unless the worker left ([`leave`]) and freed them itself.
pub fn release(thread: u32) -> Option<ThreadMemory> {
    let state = THREADS.lock().remove(&thread)?;
    state.memory
}

#[cfg(test)]
mod tests {
    use super::*;
    use gru_core::gemm::{gemm, MatMut, MatRef};

    fn product_on_this_thread() {
        let (a, b, mut c) = (vec![1.0f32; 64 * 64], vec![1.0f32; 64 * 64], vec![0.0f32; 64 * 64]);
        with_workspace(|ws| {
            gemm(
                1.0,
                MatRef::row_major(&a, 64, 64),
                MatRef::row_major(&b, 64, 64),
                0.0,
                MatMut::row_major(&mut c, 64, 64),
                ws,
            )
        });
        assert!(c.iter().all(|&v| v == 64.0));
    }

    #[test]
    fn a_gone_worker_is_released_once_whether_it_left_or_was_killed() {
        let memory = ThreadMemory { tls_base: 1024, stack_alloc: 65536 };
        let killed = std::thread::spawn(move || {
            product_on_this_thread();
            record_memory(memory);
            thread_id()
        })
        .join()
        .unwrap();
        let closed = std::thread::spawn(move || {
            record_memory(memory);
            product_on_this_thread();
            leave();
            thread_id()
        })
        .join()
        .unwrap();
        assert_ne!(killed, closed);
        assert!(THREADS.lock().contains_key(&killed), "a killed worker's buffers stay until released");
        assert_eq!(release(killed), Some(memory));
        assert_eq!(release(killed), None, "a stack is handed back once");
        assert!(!THREADS.lock().contains_key(&closed), "a worker that left holds nothing");
        assert_eq!(release(closed), None, "a worker that left freed its own stack");
    }

    #[test]
    fn a_thread_keeps_its_buffers_between_calls() {
        product_on_this_thread();
        assert!(THREADS.lock().get(&thread_id()).is_some_and(|state| state.workspace.is_some()));
    }
}
