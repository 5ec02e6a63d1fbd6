//! The table of live tensor allocations. Every pointer that JavaScript hands
//! the kernel is looked up here first, so a stale, freed, foreign or short
//! buffer is refused with an error instead of being read or written.

use std::alloc::{alloc_zeroed, dealloc, Layout};
use std::collections::BTreeMap;
use std::sync::Mutex;

/// Alignment of every allocation: one `v128`.
const ALIGN: usize = 16;

/// Start offset → length in floats.
static LIVE: Mutex<BTreeMap<u32, u32>> = Mutex::new(BTreeMap::new());

fn table() -> std::sync::MutexGuard<'static, BTreeMap<u32, u32>> {
    // A panic cannot happen while the lock is held, so poisoning is moot.
    LIVE.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
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
    table().insert(offset, len);
    Some(offset)
}

/// Frees an allocation; `false` if `offset` is not a live allocation.
pub fn release(offset: u32) -> bool {
    let Some(len) = table().remove(&offset) else {
        return false;
    };
    let layout = layout(len).expect("layout was valid at allocation");
    // SAFETY: `offset` came from `allocate` with this layout and was live.
    unsafe { dealloc(offset as usize as *mut u8, layout) };
    true
}

/// The float count of the live allocation that starts at `offset`.
pub fn length(offset: u32) -> Option<u32> {
    table().get(&offset).copied()
}

/// Bytes held by live allocations, and how many there are.
pub fn live() -> (u64, u32) {
    let table = table();
    (table.values().map(|&len| 4 * u64::from(len)).sum(), table.len() as u32)
}
