//! The global allocator: dlmalloc (what Rust's std uses on wasm) behind a
//! [`SpinLock`] of the kernel's memory instead of std's own lock.
//!
//! std's lock cannot tell a holder which will never let go: a worker killed
//! inside `malloc` would leave every other thread spinning on it for ever.
//! This lock notices that holder instead (see [`crate::spin`]); from then on
//! allocations fail (null) and frees leak, and the kernel's calls report the
//! memory unusable. It replaces std's lock rather than wrapping it: between
//! two locks, a kill on the way in or out of the inner one would leave the
//! outer one held, where one lock leaves nothing.

use crate::spin::{unusable, SpinLock, Unusable};
use std::alloc::{GlobalAlloc, Layout};

static ALLOCATOR_LOCK: SpinLock<()> = SpinLock::new(&unusable!("the memory allocator"), ());

/// `A`, one call at a time, under the memory's allocator lock.
pub struct Guarded<A>(pub A);

// SAFETY: forwards to `A` under a lock, or returns null (which callers
// handle as exhaustion) and leaks a free when the lock refuses.
unsafe impl<A: GlobalAlloc> GlobalAlloc for Guarded<A> {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        match ALLOCATOR_LOCK.lock() {
            Ok(_held) => unsafe { self.0.alloc(layout) },
            Err(_) => std::ptr::null_mut(),
        }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        match ALLOCATOR_LOCK.lock() {
            Ok(_held) => unsafe { self.0.alloc_zeroed(layout) },
            Err(_) => std::ptr::null_mut(),
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if let Ok(_held) = ALLOCATOR_LOCK.lock() {
            unsafe { self.0.dealloc(ptr, layout) }
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        match ALLOCATOR_LOCK.lock() {
            Ok(_held) => unsafe { self.0.realloc(ptr, layout, new_size) },
            Err(_) => std::ptr::null_mut(),
        }
    }
}

/// dlmalloc with no lock of its own: sound only inside [`Guarded`].
#[cfg(target_arch = "wasm32")]
struct Unlocked(std::cell::UnsafeCell<dlmalloc::Dlmalloc>);

// SAFETY: reached only through `Guarded`'s lock, one call at a time.
#[cfg(target_arch = "wasm32")]
unsafe impl Sync for Unlocked {}

// SAFETY: dlmalloc's functions with the layout's size and alignment, one
// call at a time (see `Sync` above).
#[cfg(target_arch = "wasm32")]
unsafe impl GlobalAlloc for Unlocked {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        unsafe { (*self.0.get()).malloc(layout.size(), layout.align()) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        unsafe { (*self.0.get()).calloc(layout.size(), layout.align()) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { (*self.0.get()).free(ptr, layout.size(), layout.align()) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        unsafe { (*self.0.get()).realloc(ptr, layout.size(), layout.align(), new_size) }
    }
}

#[cfg(target_arch = "wasm32")]
#[global_allocator]
static ALLOCATOR: Guarded<Unlocked> = Guarded(Unlocked(std::cell::UnsafeCell::new(dlmalloc::Dlmalloc::new())));

/// Natively (the crate's `cargo` checks), the system's allocator.
#[cfg(all(not(target_arch = "wasm32"), not(test)))]
#[global_allocator]
static ALLOCATOR: Guarded<std::alloc::System> = Guarded(std::alloc::System);

/// Holds the allocator's lock for `ms` milliseconds (see [`SpinLock::hold`]).
pub fn hold_lock(ms: f64) -> Result<(), Unusable> {
    ALLOCATOR_LOCK.hold(ms)
}

#[cfg(test)]
pub mod limited {
    //! The test binary's allocator: [`Guarded`] around the system's, which
    //! refuses on a thread what exceeds that thread's limit (memory
    //! exhausted at a chosen moment).

    use super::Guarded;
    use std::alloc::{GlobalAlloc, Layout, System};
    use std::cell::Cell;

    thread_local! {
        /// The largest allocation this thread's allocator grants.
        pub static LIMIT: Cell<usize> = const { Cell::new(usize::MAX) };
    }

    pub struct Limited;

    // SAFETY: forwards to `System`, or returns null, which callers handle.
    // (`alloc_zeroed` is the trait's, which goes through `alloc`.)
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
    static ALLOCATOR: Guarded<Limited> = Guarded(Limited);
}
