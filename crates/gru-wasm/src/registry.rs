//! The table of live tensor allocations. Every pointer that JavaScript hands
//! the kernel is looked up here first, so a stale, freed, foreign or short
//! buffer is refused with an error instead of being read or written. Each
//! allocation records the thread that made it, so that what a worker held
//! can be freed once the worker is gone.
//!
//! Nothing here can fail while the table's lock is held: the table grows
//! with `try_reserve`, which returns an error instead of trapping when the
//! memory is exhausted, and removals never allocate. A trap under the lock
//! would leave it taken, and every thread would then spin on it for ever.

use crate::spin::{SpinGuard, SpinLock};
use crate::threads::thread_id;
use std::alloc::{alloc_zeroed, dealloc, Layout};
use std::collections::hash_map::DefaultHasher;
use std::collections::HashMap;
use std::hash::BuildHasherDefault;

/// Alignment of every allocation: one `v128`.
const ALIGN: usize = 16;

#[derive(Clone, Copy)]
struct Entry {
    /// Length in floats.
    len: u32,
    /// The [`thread_id`](crate::threads::thread_id) of the thread that allocated it.
    thread: u32,
}

/// Start address → entry. (A fixed hasher: the keys are addresses the
/// kernel chose, and the table must be constructible in a `static`.)
/// Addresses are `usize` here, the wasm32 offsets JavaScript holds (`u32`
/// there) and the native tests' pointers alike.
type Table = HashMap<usize, Entry, BuildHasherDefault<DefaultHasher>>;

/// The live allocations, shared by every thread of the memory.
static LIVE: SpinLock<Table> = SpinLock::new(HashMap::with_hasher(BuildHasherDefault::new()));

fn table() -> SpinGuard<'static, Table> {
    LIVE.lock()
}

fn layout(len: u32) -> Option<Layout> {
    let bytes = (len.max(1) as usize).checked_mul(4)?;
    Layout::from_size_align(bytes, ALIGN).ok()
}

/// Allocates `len` zeroed floats; `None` when the memory cannot hold them,
/// or cannot hold the table's growth to record them.
pub fn allocate(len: u32) -> Option<usize> {
    let layout = layout(len)?;
    // SAFETY: the layout has a non-zero size.
    let ptr = unsafe { alloc_zeroed(layout) };
    if ptr.is_null() {
        return None;
    }
    let address = ptr as usize;
    let entry = Entry { len, thread: thread_id() };
    let recorded = {
        let mut table = table();
        table.try_reserve(1).map(|()| table.insert(address, entry)).is_ok()
    };
    if !recorded {
        // SAFETY: allocated above with this entry's length, never recorded.
        unsafe { deallocate(address, entry) };
        return None;
    }
    Some(address)
}

/// Frees an allocation; `false` if `address` is not a live allocation.
pub fn release(address: usize) -> bool {
    let Some(entry) = table().remove(&address) else {
        return false;
    };
    // SAFETY: `address` came from `allocate` with this entry's length and was live.
    unsafe { deallocate(address, entry) };
    true
}

/// Frees every live allocation that thread `thread` made (a worker that is
/// gone: what it held would otherwise never be freed); returns how many.
pub fn release_thread(thread: u32) -> u32 {
    let mut freed = 0;
    // Freed while the table is held (a list of them to free afterwards
    // would allocate under the lock); `allocate` also takes the table
    // before the allocator, never the other way round.
    table().retain(|&address, entry| {
        if entry.thread != thread {
            return true;
        }
        // SAFETY: it came from `allocate` with this entry's length, was
        // live, and leaves the table here.
        unsafe { deallocate(address, *entry) };
        freed += 1;
        false
    });
    freed
}

/// # Safety
/// `address` must have come from [`allocate`] with `entry.len` and be
/// removed from the table.
unsafe fn deallocate(address: usize, entry: Entry) {
    let layout = layout(entry.len).expect("layout was valid at allocation");
    unsafe { dealloc(address as *mut u8, layout) };
}

/// The float count of the live allocation that starts at `address`.
pub fn length(address: usize) -> Option<u32> {
    table().get(&address).map(|e| e.len)
}

/// Bytes held by live allocations, and how many there are.
pub fn live() -> (u64, u32) {
    let table = table();
    (table.values().map(|e| 4 * u64::from(e.len)).sum(), table.len() as u32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::alloc::{GlobalAlloc, System};
    use std::cell::Cell;
    use std::sync::Mutex;

    thread_local! {
        /// The largest allocation this thread's allocator grants.
        static LIMIT: Cell<usize> = const { Cell::new(usize::MAX) };
    }

    /// The system allocator, refusing on a thread what exceeds its limit:
    /// memory exhausted at a chosen moment. (`alloc_zeroed` is the trait's,
    /// which goes through `alloc`.)
    struct Limited;

    // SAFETY: forwards to `System`, or returns null, which callers handle.
    unsafe impl GlobalAlloc for Limited {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            if layout.size() > LIMIT.with(Cell::get) {
                return std::ptr::null_mut();
            }
            unsafe { System.alloc(layout) }
        }

        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            unsafe { System.dealloc(ptr, layout) }
        }
    }

    #[global_allocator]
    static ALLOCATOR: Limited = Limited;

    /// The table is the process's: its tests take turns.
    static TURN: Mutex<()> = Mutex::new(());

    #[test]
    fn a_table_that_cannot_grow_refuses_the_allocation_and_stays_usable() {
        let _turn = TURN.lock().unwrap();
        let before = live();
        let mut held = Vec::new();
        while {
            let table = table();
            table.len() < table.capacity()
        } {
            held.push(allocate(1).unwrap());
        }
        // A one-float tensor fits; the table's growth to record it does not.
        LIMIT.with(|limit| limit.set(64));
        let refused = allocate(1);
        LIMIT.with(|limit| limit.set(usize::MAX));
        assert_eq!(refused, None);
        assert_eq!(live().1, before.1 + held.len() as u32, "the refused tensor was freed");
        let more = allocate(1).expect("the table is not left locked, and grows again");
        for address in held.into_iter().chain([more]) {
            assert!(release(address));
        }
        assert_eq!(live(), before);
    }

    #[test]
    fn a_gone_threads_allocations_are_freed_and_no_others() {
        let _turn = TURN.lock().unwrap();
        let before = live();
        let mine = allocate(8).unwrap();
        let (thread, theirs) =
            std::thread::spawn(|| (thread_id(), [allocate(1), allocate(100), allocate(3)])).join().unwrap();
        assert!(theirs.iter().all(Option::is_some));
        assert_eq!(release_thread(thread), 3);
        assert_eq!(release_thread(thread), 0);
        assert!(theirs.iter().all(|&address| length(address.unwrap()).is_none()));
        assert_eq!(length(mine), Some(8));
        assert!(release(mine));
        assert_eq!(live(), before);
    }
}
