//! The table of live tensor allocations. Every pointer that JavaScript hands
//! the kernel is looked up here first, so a stale, freed, foreign or short
//! buffer is refused with an error instead of being read or written. Each
//! allocation records the thread that made it, so that what a worker held
//! can be freed once the worker is gone.

use crate::spin::{SpinGuard, SpinLock};
use crate::threads::thread_id;
use std::alloc::{alloc_zeroed, dealloc, Layout};
use std::collections::BTreeMap;

/// Alignment of every allocation: one `v128`.
const ALIGN: usize = 16;

#[derive(Clone, Copy)]
struct Entry {
    /// Length in floats.
    len: u32,
    /// The [`thread_id`](crate::threads::thread_id) of the thread that allocated it.
    thread: u32,
}

/// Start offset → entry, shared by every thread of the memory.
static LIVE: SpinLock<BTreeMap<u32, Entry>> = SpinLock::new(BTreeMap::new());

fn table() -> SpinGuard<'static, BTreeMap<u32, Entry>> {
    LIVE.lock()
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
