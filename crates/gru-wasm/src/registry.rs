//! The table of live tensor allocations. Every pointer that JavaScript hands
//! the kernel is looked up here first, so a stale, freed, foreign or short
//! buffer is refused with an error instead of being read or written. Each
//! allocation records the thread that made it, so that what a worker held
//! can be freed once the worker is gone.
//!
//! Nothing here can fail while the table's lock is held: the table grows
//! with `try_reserve`, which returns an error instead of trapping when the
//! memory is exhausted, and removals never allocate. A trap under the lock
//! would leave it taken for good, and the memory unusable (see
//! [`crate::spin`]).

use crate::spin::{unusable, SpinGuard, SpinLock, Unusable};
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
static LIVE: SpinLock<Table> =
    SpinLock::new(&unusable!("the tensor table"), HashMap::with_hasher(BuildHasherDefault::new()));

fn table() -> Result<SpinGuard<'static, Table>, Unusable> {
    LIVE.lock()
}

/// Why [`allocate`] refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refused {
    /// The memory cannot hold the tensor, or the table's growth to record it.
    Exhausted,
    Unusable(Unusable),
}

fn layout(len: u32) -> Option<Layout> {
    let bytes = (len.max(1) as usize).checked_mul(4)?;
    Layout::from_size_align(bytes, ALIGN).ok()
}

/// Allocates `len` zeroed floats.
pub fn allocate(len: u32) -> Result<usize, Refused> {
    let layout = layout(len).ok_or(Refused::Exhausted)?;
    // SAFETY: the layout has a non-zero size.
    let ptr = unsafe { alloc_zeroed(layout) };
    if ptr.is_null() {
        // Null too when the allocator's lock refused: say which.
        return Err(crate::spin::MEMORY.get().map_or(Refused::Exhausted, Refused::Unusable));
    }
    let address = ptr as usize;
    let entry = Entry { len, thread: thread_id() };
    let recorded = match table() {
        Ok(mut table) => table.try_reserve(1).map(|()| table.insert(address, entry)).map_err(|_| Refused::Exhausted),
        Err(unusable) => Err(Refused::Unusable(unusable)),
    };
    if let Err(refused) = recorded {
        // SAFETY: allocated above with this entry's length, never recorded.
        unsafe { deallocate(address, entry) };
        return Err(refused);
    }
    Ok(address)
}

/// Frees an allocation; `false` if `address` is not a live allocation.
pub fn release(address: usize) -> Result<bool, Unusable> {
    let Some(entry) = table()?.remove(&address) else {
        return Ok(false);
    };
    // SAFETY: `address` came from `allocate` with this entry's length and was live.
    unsafe { deallocate(address, entry) };
    Ok(true)
}

/// Frees every live allocation that thread `thread` made (a worker that is
/// gone: what it held would otherwise never be freed); returns how many.
pub fn release_thread(thread: u32) -> Result<u32, Unusable> {
    let mut freed = 0;
    // Freed while the table is held (a list of them to free afterwards
    // would allocate under the lock); `allocate` also takes the table
    // before the allocator, never the other way round.
    table()?.retain(|&address, entry| {
        if entry.thread != thread {
            return true;
        }
        // SAFETY: it came from `allocate` with this entry's length, was
        // live, and leaves the table here.
        unsafe { deallocate(address, *entry) };
        freed += 1;
        false
    });
    Ok(freed)
}

/// # Safety
/// `address` must have come from [`allocate`] with `entry.len` and be
/// removed from the table.
unsafe fn deallocate(address: usize, entry: Entry) {
    let layout = layout(entry.len).expect("layout was valid at allocation");
    unsafe { dealloc(address as *mut u8, layout) };
}

/// The float count of the live allocation that starts at `address`.
pub fn length(address: usize) -> Result<Option<u32>, Unusable> {
    Ok(table()?.get(&address).map(|e| e.len))
}

/// Bytes held by live allocations, and how many there are.
pub fn live() -> Result<(u64, u32), Unusable> {
    let table = table()?;
    Ok((table.values().map(|e| 4 * u64::from(e.len)).sum(), table.len() as u32))
}

/// Holds the table's lock for `ms` milliseconds (see [`SpinLock::hold`]).
pub fn hold_lock(ms: f64) -> Result<(), Unusable> {
    LIVE.hold(ms)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alloc::limited::LIMIT;
    use std::sync::Mutex;

    /// The table is the process's: its tests take turns.
    static TURN: Mutex<()> = Mutex::new(());

    #[test]
    fn a_table_that_cannot_grow_refuses_the_allocation_and_stays_usable() {
        let _turn = TURN.lock().unwrap();
        let before = live().unwrap();
        let mut held = Vec::new();
        while {
            let table = table().unwrap();
            table.len() < table.capacity()
        } {
            held.push(allocate(1).unwrap());
        }
        // A one-float tensor fits; the table's growth to record it does not.
        LIMIT.with(|limit| limit.set(64));
        let refused = allocate(1);
        LIMIT.with(|limit| limit.set(usize::MAX));
        assert_eq!(refused, Err(Refused::Exhausted));
        assert_eq!(live().unwrap().1, before.1 + held.len() as u32, "the refused tensor was freed");
        let more = allocate(1).expect("the table is not left locked, and grows again");
        for address in held.into_iter().chain([more]) {
            assert!(release(address).unwrap());
        }
        assert_eq!(live().unwrap(), before);
    }

    #[test]
    fn a_gone_threads_allocations_are_freed_and_no_others() {
        let _turn = TURN.lock().unwrap();
        let before = live().unwrap();
        let mine = allocate(8).unwrap();
        let (thread, theirs) =
            std::thread::spawn(|| (thread_id(), [allocate(1), allocate(100), allocate(3)])).join().unwrap();
        assert!(theirs.iter().all(Result::is_ok));
        assert_eq!(release_thread(thread).unwrap(), 3);
        assert_eq!(release_thread(thread).unwrap(), 0);
        assert!(theirs.iter().all(|&address| length(address.unwrap()).unwrap().is_none()));
        assert_eq!(length(mine), Ok(Some(8)));
        assert!(release(mine).unwrap());
        assert_eq!(live().unwrap(), before);
    }
}
