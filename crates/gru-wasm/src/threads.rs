//! What each thread of the shared memory holds apart from its tensors: its
//! GEMM packing buffers and, for a worker, the stack and thread-local block
//! that wasm-bindgen allocated for it when it attached.
//!
//! They are kept in one table by thread number, not in thread-locals, so
//! that another thread can free them once a worker is gone: on wasm a
//! thread-local's destructor never runs, and a worker that is killed (or
//! exits after a trap) runs nothing at all. Left behind, each worker would
//! cost the memory its stack (1 MiB) and its packing buffers (up to 1.1 MiB)
//! for as long as the page or process lives. The table is a fixed array, so
//! nothing allocates while its lock is held: an allocation failing there
//! (memory exhausted) would trap with the lock taken for good.

use crate::spin::{unusable, SpinLock, Unusable};
use gru_core::gemm::GemmWorkspace;
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

struct ThreadState {
    /// The slot's thread; 0 for a free slot.
    thread: u32,
    /// `None` until the thread's first product, and while a call has it out.
    workspace: Option<GemmWorkspace>,
    /// Recorded by a worker as it attaches.
    memory: Option<ThreadMemory>,
}

const FREE: ThreadState = ThreadState { thread: 0, workspace: None, memory: None };

/// Threads the table tracks at once: a set of workers has at most 64, and
/// a page or process rarely runs more than a few sets. A thread beyond them
/// still computes, with packing buffers of its own call's; killed, its stack
/// would not be freed.
const SLOTS: usize = 256;

static THREADS: SpinLock<[ThreadState; SLOTS]> = SpinLock::new(&unusable!("the thread table"), [FREE; SLOTS]);

/// The slot of `thread`, claiming a free one for it if `claim`.
fn slot(table: &mut [ThreadState; SLOTS], thread: u32, claim: bool) -> Option<&mut ThreadState> {
    let index = table.iter().position(|s| s.thread == thread);
    let index = index.or_else(|| if claim { table.iter().position(|s| s.thread == 0) } else { None })?;
    let state = &mut table[index];
    state.thread = thread;
    Some(state)
}

/// Runs `f` with this thread's packing buffers, grown by its earlier calls
/// and kept for its later ones (a GRU multiplies once per time step).
pub fn with_workspace<T>(f: impl FnOnce(&mut GemmWorkspace) -> T) -> Result<T, Unusable> {
    let thread = thread_id();
    let taken = slot(&mut *THREADS.lock()?, thread, true).and_then(|state| state.workspace.take());
    let mut workspace = taken.unwrap_or_default();
    let result = f(&mut workspace);
    let unkept = match THREADS.lock() {
        Ok(mut table) => match slot(&mut table, thread, true) {
            Some(state) => state.workspace.replace(workspace),
            None => Some(workspace),
        },
        Err(_) => Some(workspace),
    };
    drop(unkept);
    Ok(result)
}

/// Records where this thread's stack and thread-local block are (a worker,
/// as it attaches), for [`release`].
pub fn record_memory(memory: ThreadMemory) -> Result<(), Unusable> {
    if let Some(state) = slot(&mut *THREADS.lock()?, thread_id(), true) {
        state.memory = Some(memory);
    }
    Ok(())
}

/// Empties the slot of `thread` and returns what it held, for the caller to
/// drop once the lock is released.
fn take(thread: u32) -> Result<Option<ThreadState>, Unusable> {
    Ok(slot(&mut *THREADS.lock()?, thread, false).map(|state| std::mem::replace(state, FREE)))
}

/// This thread's leaving (a worker closing): frees its packing buffers and
/// forgets its stack, which the caller frees next, itself, through
/// wasm-bindgen. Once this has run, [`release`] frees nothing of it twice.
pub fn leave() -> Result<(), Unusable> {
    drop(take(thread_id())?);
    Ok(())
}

/// Frees the packing buffers of thread `thread`, a worker that is gone, and
/// returns where its stack and thread-local block are for the caller to free,
/// unless the worker left ([`leave`]) and freed them itself.
pub fn release(thread: u32) -> Result<Option<ThreadMemory>, Unusable> {
    Ok(take(thread)?.and_then(|state| state.memory))
}

/// Holds the table's lock for `ms` milliseconds, on this thread: how a test
/// stops a worker inside the table.
pub fn hold_lock(ms: f64) -> Result<(), Unusable> {
    let _held = THREADS.lock()?;
    crate::spin::wait_ms(ms);
    Ok(())
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
        })
        .unwrap();
        assert!(c.iter().all(|&v| v == 64.0));
    }

    #[test]
    fn a_gone_worker_is_released_once_whether_it_left_or_was_killed() {
        let memory = ThreadMemory { tls_base: 1024, stack_alloc: 65536 };
        let killed = std::thread::spawn(move || {
            product_on_this_thread();
            record_memory(memory).unwrap();
            thread_id()
        })
        .join()
        .unwrap();
        let closed = std::thread::spawn(move || {
            record_memory(memory).unwrap();
            product_on_this_thread();
            leave().unwrap();
            thread_id()
        })
        .join()
        .unwrap();
        assert_ne!(killed, closed);
        let holds = |thread: u32| THREADS.lock().unwrap().iter().any(|state| state.thread == thread);
        assert!(holds(killed), "a killed worker's buffers stay until released");
        assert_eq!(release(killed).unwrap(), Some(memory));
        assert_eq!(release(killed).unwrap(), None, "a stack is handed back once");
        assert!(!holds(closed), "a worker that left holds nothing");
        assert_eq!(release(closed).unwrap(), None, "a worker that left freed its own stack");
    }

    #[test]
    fn a_thread_keeps_its_buffers_between_calls() {
        product_on_this_thread();
        let thread = thread_id();
        assert!(THREADS.lock().unwrap().iter().any(|state| state.thread == thread && state.workspace.is_some()));
    }
}
