//! The table of live tensor allocations. Every pointer that JavaScript hands
//! the kernel is looked up here first, so a stale, freed, foreign or short
//! buffer is refused with an error instead of being read or written. Each
//! allocation records the thread that made it, so that what a worker held
//! can be freed once the worker is gone.

use std::alloc::{alloc_zeroed, dealloc, Layout};
use std::cell::UnsafeCell;
use std::collections::BTreeMap;
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

/// Alignment of every allocation: one `v128`.
const ALIGN: usize = 16;

#[derive(Clone, Copy)]
struct Entry {
    /// Length in floats.
    len: u32,
    /// The [`thread_id`] of the thread that allocated it.
    thread: u32,
}

/// Start offset → entry, shared by every thread of the memory.
static LIVE: SpinLock<BTreeMap<u32, Entry>> = SpinLock::new(BTreeMap::new());

fn table() -> SpinGuard<'static, BTreeMap<u32, Entry>> {
    LIVE.lock()
}

static NEXT_THREAD: AtomicU32 = AtomicU32::new(1);

thread_local! {
    static THREAD: u32 = NEXT_THREAD.fetch_add(1, Ordering::Relaxed);
}

/// This thread's number among the threads of the memory (1, 2, …, in the
/// order they first ask).
pub fn thread_id() -> u32 {
    THREAD.with(|id| *id)
}

/// A lock that spins instead of waiting. A browser's main thread may not
/// execute `memory.atomic.wait` (it traps), which is what `std::sync::Mutex`
/// does under contention; the table is held for a lookup at a time, so
/// spinning is short. (Rust's own wasm allocator spins for the same reason.)
struct SpinLock<T> {
    locked: AtomicBool,
    value: UnsafeCell<T>,
}

// SAFETY: `value` is only reached through a guard, and one guard exists at a time.
unsafe impl<T: Send> Sync for SpinLock<T> {}

impl<T> SpinLock<T> {
    const fn new(value: T) -> Self {
        SpinLock { locked: AtomicBool::new(false), value: UnsafeCell::new(value) }
    }

    fn lock(&self) -> SpinGuard<'_, T> {
        while self.locked.compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed).is_err() {
            std::hint::spin_loop();
        }
        SpinGuard { lock: self }
    }
}

struct SpinGuard<'a, T> {
    lock: &'a SpinLock<T>,
}

impl<T> Deref for SpinGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: this guard holds the lock.
        unsafe { &*self.lock.value.get() }
    }
}

impl<T> DerefMut for SpinGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: this guard holds the lock, exclusively.
        unsafe { &mut *self.lock.value.get() }
    }
}

impl<T> Drop for SpinGuard<'_, T> {
    fn drop(&mut self) {
        self.lock.locked.store(false, Ordering::Release);
    }
}

fn layout(len: u32) -> Option<Layout> {
    let bytes = (len.max(1) as usize).checked_mul(4)?;
    Layout::from_size_align(bytes, ALIGN).ok()
}

/// Allocates `len` zeroed floats; `None` when the memory cannot grow.
pub fn allocate(len: u32) -> Option<u32> {
    let layout = layout(len)?;
    // SAFETY: the layout has a non-zero size.
    let ptr = unsafe { alloc_zeroed(layout) };
    if ptr.is_null() {
        return None;
    }
    let offset = ptr as usize as u32;
    let thread = thread_id();
    table().insert(offset, Entry { len, thread });
    Some(offset)
}

/// Frees an allocation; `false` if `offset` is not a live allocation.
pub fn release(offset: u32) -> bool {
    let Some(entry) = table().remove(&offset) else {
        return false;
    };
    // SAFETY: `offset` came from `allocate` with this entry's length and was live.
    unsafe { deallocate(offset, entry) };
    true
}

/// Frees every live allocation that thread `thread` made (a worker that is
/// gone: what it held would otherwise never be freed); returns how many.
pub fn release_thread(thread: u32) -> u32 {
    let freed: Vec<(u32, Entry)> = {
        let mut table = table();
        let offsets: Vec<u32> = table.iter().filter(|(_, e)| e.thread == thread).map(|(&o, _)| o).collect();
        offsets.into_iter().filter_map(|o| table.remove(&o).map(|e| (o, e))).collect()
    };
    for &(offset, entry) in &freed {
        // SAFETY: each came from `allocate` with its entry's length and was live.
        unsafe { deallocate(offset, entry) };
    }
    freed.len() as u32
}

/// # Safety
/// `offset` must have come from [`allocate`] with `entry.len` and be removed
/// from the table.
unsafe fn deallocate(offset: u32, entry: Entry) {
    let layout = layout(entry.len).expect("layout was valid at allocation");
    unsafe { dealloc(offset as usize as *mut u8, layout) };
}

/// The float count of the live allocation that starts at `offset`.
pub fn length(offset: u32) -> Option<u32> {
    table().get(&offset).map(|e| e.len)
}

/// Bytes held by live allocations, and how many there are.
pub fn live() -> (u64, u32) {
    let table = table();
    (table.values().map(|e| 4 * u64::from(e.len)).sum(), table.len() as u32)
}
