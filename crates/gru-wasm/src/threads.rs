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
//!
//! The packing buffers stay in their slot while a call uses them (they are
//! lent in place, not taken out), so a worker killed or trapped in the
//! middle of a product still leaves them where they can be freed.

use crate::spin::{unusable, SpinLock, Unusable};
use gru_core::gemm::GemmWorkspace;
use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

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
    /// Recorded by a worker as it attaches.
    memory: Option<ThreadMemory>,
}

const FREE: ThreadState = ThreadState { thread: 0, memory: None };

/// Threads the table tracks at once: a set of workers has at most 64, and
/// a page or process rarely runs more than a few sets. A thread beyond them
/// still computes, with packing buffers of its own call's; killed, its stack
/// would not be freed.
const SLOTS: usize = 256;

static THREADS: SpinLock<[ThreadState; SLOTS]> = SpinLock::new(&unusable!("the thread table"), [FREE; SLOTS]);

/// The packing buffers of slot `i` of [`THREADS`], at `i`: beside the table,
/// not in it, because the slot's thread uses them through a whole call
/// without holding the table's lock.
struct Buffers {
    /// `None` until the slot's thread's first product.
    workspace: UnsafeCell<Option<GemmWorkspace>>,
    /// Set while a call of the slot's thread uses them.
    lent: AtomicBool,
}

struct AllBuffers([Buffers; SLOTS]);

// SAFETY: slot i's buffers are reached by the thread that holds slot i,
// while it runs (one call at a time: `lent`), and otherwise only under the
// table's lock, when that thread left or is gone (see `take`).
unsafe impl Sync for AllBuffers {}

static BUFFERS: AllBuffers =
    AllBuffers([const { Buffers { workspace: UnsafeCell::new(None), lent: AtomicBool::new(false) } }; SLOTS]);

/// The slot of `thread`, claiming a free one for it if `claim`.
fn slot(table: &mut [ThreadState; SLOTS], thread: u32, claim: bool) -> Option<usize> {
    let index = table.iter().position(|s| s.thread == thread);
    let index = index.or_else(|| if claim { table.iter().position(|s| s.thread == 0) } else { None })?;
    table[index].thread = thread;
    Some(index)
}

/// Runs `f` with this thread's packing buffers, grown by its earlier calls
/// and kept for its later ones (a GRU multiplies once per time step).
pub fn with_workspace<T>(f: impl FnOnce(&mut GemmWorkspace) -> T) -> Result<T, Unusable> {
    let index = slot(&mut *THREADS.lock()?, thread_id(), true);
    let Some(buffers) = index.map(|i| &BUFFERS.0[i]) else {
        // A thread beyond the table's slots: buffers for this call only.
        return Ok(f(&mut GemmWorkspace::new()));
    };
    if buffers.lent.swap(true, Ordering::Acquire) {
        // A product inside a product of this thread: buffers of its own.
        return Ok(f(&mut GemmWorkspace::new()));
    }
    // SAFETY: the slot is this thread's, so no other thread reaches these
    // buffers while it runs, and `lent` keeps this thread's other calls off.
    let workspace = unsafe { (*buffers.workspace.get()).get_or_insert_with(GemmWorkspace::new) };
    let result = f(workspace);
    buffers.lent.store(false, Ordering::Release);
    Ok(result)
}

/// Records where this thread's stack and thread-local block are (a worker,
/// as it attaches), for [`release`].
pub fn record_memory(memory: ThreadMemory) -> Result<(), Unusable> {
    let mut table = THREADS.lock()?;
    if let Some(index) = slot(&mut table, thread_id(), true) {
        table[index].memory = Some(memory);
    }
    Ok(())
}

/// Empties the slot of `thread` (which has left, or is gone) and returns
/// where its stack is and its packing buffers, for the caller to drop once
/// the lock is released.
fn take(thread: u32) -> Result<Option<(ThreadState, Option<GemmWorkspace>)>, Unusable> {
    let mut table = THREADS.lock()?;
    let Some(index) = slot(&mut table, thread, false) else {
        return Ok(None);
    };
    let buffers = &BUFFERS.0[index];
    // SAFETY: `thread` runs no call now (it is leaving, or gone, maybe cut
    // off inside one), and no thread can claim the slot while the lock is held.
    let workspace = unsafe { (*buffers.workspace.get()).take() };
    buffers.lent.store(false, Ordering::Release);
    Ok(Some((std::mem::replace(&mut table[index], FREE), workspace)))
}

/// This thread's leaving (a worker closing): frees its packing buffers and
/// forgets its stack, which the caller frees next, itself, through
/// wasm-bindgen. Once this has run, [`release`] frees nothing of it twice.
pub fn leave() -> Result<(), Unusable> {
    drop(take(thread_id())?);
    Ok(())
}

/// Frees the packing buffers of thread `thread`, a worker that is gone (even
/// one cut off in the middle of a product), and returns where its stack and
/// thread-local block are for the caller to free, unless the worker left
/// ([`leave`]) and freed them itself.
pub fn release(thread: u32) -> Result<Option<ThreadMemory>, Unusable> {
    Ok(take(thread)?.and_then(|(state, _buffers)| state.memory))
}

/// Holds the table's lock for `ms` milliseconds (see [`SpinLock::hold`]).
pub fn hold_lock(ms: f64) -> Result<(), Unusable> {
    THREADS.hold(ms)
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

    /// Whether `thread`'s slot holds packing buffers.
    fn has_buffers(thread: u32) -> bool {
        let mut table = THREADS.lock().unwrap();
        let index = slot(&mut table, thread, false);
        // SAFETY: read under the lock, while `thread` runs no call.
        index.is_some_and(|i| unsafe { (*BUFFERS.0[i].workspace.get()).is_some() })
    }

    #[test]
    fn a_thread_keeps_its_buffers_between_calls() {
        product_on_this_thread();
        assert!(has_buffers(thread_id()));
    }

    #[test]
    fn a_worker_cut_off_inside_a_product_leaves_its_buffers_to_be_freed() {
        let cut_off = std::thread::spawn(|| {
            let thread = thread_id();
            // Stopped in the middle of a call, after its product packed.
            let unwound = std::panic::catch_unwind(|| {
                with_workspace(|ws| {
                    let (a, mut c) = (vec![1.0f32; 64 * 64], vec![0.0f32; 64 * 64]);
                    let a = MatRef::row_major(&a, 64, 64);
                    gemm(1.0, a, a, 0.0, MatMut::row_major(&mut c, 64, 64), ws);
                    panic!("cut off");
                })
            });
            assert!(unwound.is_err());
            thread
        })
        .join()
        .unwrap();
        assert!(has_buffers(cut_off), "its buffers stay in its slot");
        assert_eq!(release(cut_off).unwrap(), None);
        assert!(!has_buffers(cut_off));
    }
}
