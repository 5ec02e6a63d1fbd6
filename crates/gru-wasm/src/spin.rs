//! The lock shared by the kernel's allocator and its process-wide tables
//! (live tensors, each thread's state): one that every thread may take, the
//! browser's main thread included, and that notices a holder which will
//! never let go.
//!
//! A worker can be killed at any instruction (`Worker.terminate`, a worker
//! cut off after ignoring a request to stop). Killed inside one of these
//! locks, it never releases it, and what the lock guards may be half
//! updated. Instead of spinning for ever (a frozen page, a hung process),
//! a thread that finds a lock held without a change for [`STUCK_AFTER_MS`]
//! (sections last microseconds) declares the memory unusable: that lock and
//! every other lock of the memory refuse from then on, with an error naming
//! what was held.

use std::cell::UnsafeCell;
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicPtr, AtomicU32, Ordering};

/// How long a lock may stay taken by one holder before that holder counts
/// as gone. The longest legitimate sections (a table of a million tensors
/// rehashing, a gone worker's tensors freed) take milliseconds.
pub const STUCK_AFTER_MS: f64 = 2000.0;

/// Failed attempts between two looks at the clock (a clock read costs a
/// call out of WebAssembly); they take well under a millisecond.
const SPINS_PER_LOOK: u32 = 1 << 14;

/// A longer pause between two looks (the waiter itself was descheduled or
/// paused) starts the watch again.
const MAX_LOOK_GAP_MS: f64 = 100.0;

/// Why the memory's locks refuse: a thread was stopped while holding one of
/// them. `message` names that lock, composed at compile time: an error
/// raised because the allocator is gone cannot allocate its text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Unusable {
    pub message: &'static str,
}

/// The [`Unusable`] of a lock guarding `$what` (a literal).
macro_rules! unusable {
    ($what:literal) => {
        crate::spin::Unusable {
            message: concat!(
                "the kernel's memory is unusable: a worker was stopped while it held ",
                $what,
                ", which may be half updated; a new kernel is needed (reload the page or restart the process)"
            ),
        }
    };
}
pub(crate) use unusable;

/// Set once, by the first thread to find a lock stuck; shared by every lock
/// of one memory.
pub struct Poison {
    held: AtomicPtr<Unusable>,
}

impl Poison {
    pub const fn new() -> Self {
        Poison { held: AtomicPtr::new(std::ptr::null_mut()) }
    }

    /// The stuck lock, once one was found.
    pub fn get(&self) -> Option<Unusable> {
        let held = self.held.load(Ordering::Acquire);
        // SAFETY: only ever set to a lock's `'static` name.
        (!held.is_null()).then(|| unsafe { *held })
    }

    fn set(&self, name: &'static Unusable) -> Unusable {
        let mine = name as *const Unusable as *mut Unusable;
        match self.held.compare_exchange(std::ptr::null_mut(), mine, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => *name,
            // SAFETY: as in `get`.
            Err(first) => unsafe { *first },
        }
    }
}

/// The poison of the kernel's memory, shared by its allocator and tables.
pub static MEMORY: Poison = Poison::new();

/// A lock that spins instead of waiting. A browser's main thread may not
/// execute `memory.atomic.wait` (it traps), which is what `std::sync::Mutex`
/// does under contention; the sections behind these locks last a lookup, an
/// insertion or an allocation, so spinning is short.
///
/// The lock word counts acquisitions: even when free, odd while held. A
/// waiter that sees the same odd value for [`STUCK_AFTER_MS`] knows that one
/// holder has kept it all that time.
pub struct SpinLock<T> {
    word: AtomicU32,
    name: &'static Unusable,
    poison: &'static Poison,
    stuck_after_ms: f64,
    value: UnsafeCell<T>,
}

// SAFETY: `value` is only reached through a guard, and one guard exists at a time.
unsafe impl<T: Send> Sync for SpinLock<T> {}

impl<T> SpinLock<T> {
    /// A lock of the kernel's memory, guarding what `name` names.
    pub const fn new(name: &'static Unusable, value: T) -> Self {
        Self::with_poison(name, &MEMORY, STUCK_AFTER_MS, value)
    }

    pub const fn with_poison(name: &'static Unusable, poison: &'static Poison, stuck_after_ms: f64, value: T) -> Self {
        SpinLock { word: AtomicU32::new(0), name, poison, stuck_after_ms, value: UnsafeCell::new(value) }
    }

    /// Takes the lock; an error, instead of spinning on, once the memory is
    /// unusable or this lock's holder turns out to be gone.
    pub fn lock(&self) -> Result<SpinGuard<'_, T>, Unusable> {
        let mut spins = 0u32;
        // The held value being watched, since when, and when last seen (ms).
        let mut watched: Option<(u32, f64, f64)> = None;
        loop {
            if let Some(unusable) = self.poison.get() {
                return Err(unusable);
            }
            let word = self.word.load(Ordering::Relaxed);
            let held = word & 1 == 1;
            if !held && self.word.compare_exchange_weak(word, word + 1, Ordering::Acquire, Ordering::Relaxed).is_ok() {
                return Ok(SpinGuard { lock: self, held: word + 1 });
            }
            std::hint::spin_loop();
            spins += 1;
            if !held || spins < SPINS_PER_LOOK {
                continue;
            }
            spins = 0;
            let now = clock_ms();
            match &mut watched {
                // Watched without a gap: a paused page or process (a frozen
                // tab, a stopped debugger) pauses the holder too, so time
                // that passed unwatched counts for nothing.
                Some((value, since, last)) if *value == word && now - *last <= MAX_LOOK_GAP_MS => {
                    if now - *since >= self.stuck_after_ms {
                        return Err(self.poison.set(self.name));
                    }
                    *last = now;
                }
                _ => watched = Some((word, now, now)),
            }
        }
    }
}

impl<T> SpinLock<T> {
    /// Takes the lock and keeps it for `ms` milliseconds, spinning: how a
    /// test stops a worker inside one of the memory's locks.
    pub fn hold(&self, ms: f64) -> Result<(), Unusable> {
        let _held = self.lock()?;
        let start = clock_ms();
        while clock_ms() - start < ms {
            std::hint::spin_loop();
        }
        Ok(())
    }
}

pub struct SpinGuard<'a, T> {
    lock: &'a SpinLock<T>,
    held: u32,
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
        self.lock.word.store(self.held.wrapping_add(1), Ordering::Release);
    }
}

// `Date.now` exists in every JavaScript realm (page, worker, Node) and
// needs nothing allocated to call: the clock is read inside the allocator.
#[cfg(target_arch = "wasm32")]
#[wasm_bindgen::prelude::wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = Date, js_name = now)]
    fn date_now() -> f64;
}

/// Milliseconds from some fixed moment.
#[cfg(target_arch = "wasm32")]
fn clock_ms() -> f64 {
    date_now()
}

#[cfg(not(target_arch = "wasm32"))]
fn clock_ms() -> f64 {
    use std::sync::OnceLock;
    use std::time::Instant;
    static START: OnceLock<Instant> = OnceLock::new();
    #[cfg(test)]
    let skew = tests::CLOCK_SKEW_MS.load(Ordering::Relaxed) as f64;
    #[cfg(not(test))]
    let skew = 0.0;
    START.get_or_init(Instant::now).elapsed().as_secs_f64() * 1000.0 + skew
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicU64;
    use std::time::Instant;

    /// Added to every thread's clock: a test moves it forward as a paused
    /// process would find it on waking.
    pub static CLOCK_SKEW_MS: AtomicU64 = AtomicU64::new(0);

    static ONE: Unusable = unusable!("the first table");
    static OTHER: Unusable = unusable!("the second table");

    #[test]
    fn a_holder_that_never_lets_go_makes_every_lock_of_its_memory_refuse() {
        static POISON: Poison = Poison::new();
        static FIRST: SpinLock<u32> = SpinLock::with_poison(&ONE, &POISON, 100.0, 0);
        static SECOND: SpinLock<u32> = SpinLock::with_poison(&OTHER, &POISON, 100.0, 0);
        *SECOND.lock().unwrap() += 1;
        // A thread stopped inside its section: the guard is never dropped.
        std::thread::spawn(|| std::mem::forget(FIRST.lock().unwrap())).join().unwrap();
        let start = Instant::now();
        assert_eq!(FIRST.lock().err(), Some(ONE));
        assert!(start.elapsed().as_millis() >= 100, "not before the holder had it for the whole time");
        assert_eq!(SECOND.lock().err(), Some(ONE), "the other locks of the memory refuse too");
        assert!(ONE.message.contains("stopped while it held the first table"));
    }

    #[test]
    fn a_holder_that_lets_go_in_time_is_waited_for() {
        static POISON: Poison = Poison::new();
        static LOCK: SpinLock<u32> = SpinLock::with_poison(&ONE, &POISON, 300.0, 0);
        let guard = LOCK.lock().unwrap();
        let waiter = std::thread::spawn(|| {
            *LOCK.lock().unwrap() += 1;
        });
        std::thread::sleep(std::time::Duration::from_millis(100));
        drop(guard);
        waiter.join().unwrap();
        // Taken over and over, each time briefly, for longer than the limit.
        let start = Instant::now();
        let busy = std::thread::spawn(move || {
            while start.elapsed().as_millis() < 600 {
                *LOCK.lock().unwrap() += 1;
            }
        });
        while start.elapsed().as_millis() < 600 {
            *LOCK.lock().unwrap() += 1;
        }
        busy.join().unwrap();
        assert_eq!(POISON.get(), None);
    }

    #[test]
    fn time_that_passed_unwatched_does_not_count() {
        static POISON: Poison = Poison::new();
        static LOCK: SpinLock<u32> = SpinLock::with_poison(&ONE, &POISON, 300.0, 0);
        std::thread::spawn(|| std::mem::forget(LOCK.lock().unwrap())).join().unwrap();
        let start = Instant::now();
        let waiter = std::thread::spawn(move || (LOCK.lock().err(), start.elapsed().as_millis()));
        std::thread::sleep(std::time::Duration::from_millis(50));
        // The clock jumps 10 s, as if the process had been paused.
        CLOCK_SKEW_MS.fetch_add(10_000, Ordering::Relaxed);
        let (refused, after_ms) = waiter.join().unwrap();
        assert_eq!(refused, Some(ONE));
        assert!(after_ms >= 50 + 300, "refused {after_ms} ms in: the jump counted as time held");
    }
}
