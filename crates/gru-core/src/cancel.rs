//! Stopping a long kernel call from another thread. A thread may watch a
//! word of memory that another thread can set; the long loops (a GRU's
//! steps, a Dense layer's chunks of rows) check it between iterations and
//! return an error once it is set, so a worker asked to stop leaves its
//! call at such a boundary: its temporaries are dropped and no lock is
//! held, which killing the thread mid-call could not promise.

use std::cell::Cell;
use std::sync::atomic::{AtomicU32, Ordering};

use crate::error::{KernelError, KernelResult};

thread_local! {
    static WATCHED: Cell<Option<&'static AtomicU32>> = const { Cell::new(None) };
}

/// Makes this thread's long calls stop once `word` is non-zero (`None`: never).
///
/// The word must stay allocated as long as this thread may run kernel calls:
/// whoever set it frees it only after the thread is gone.
pub fn watch(word: Option<&'static AtomicU32>) {
    WATCHED.with(|w| w.set(word));
}

/// An error once this thread's watched word is set.
pub fn check(op: &'static str) -> KernelResult<()> {
    match WATCHED.with(Cell::get) {
        Some(word) if word.load(Ordering::Relaxed) != 0 => {
            Err(KernelError::new(op, "cancelled: the worker running it was asked to stop"))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_set_word_stops_only_its_thread() {
        let word: &'static AtomicU32 = Box::leak(Box::new(AtomicU32::new(0)));
        watch(Some(word));
        assert!(check("op").is_ok());
        word.store(1, Ordering::Relaxed);
        let err = check("gru_forward").unwrap_err();
        assert_eq!(err.to_string(), "gru_forward: cancelled: the worker running it was asked to stop");
        // Another thread watches nothing.
        assert!(std::thread::spawn(|| check("op").is_ok()).join().unwrap());
        watch(None);
        assert!(check("op").is_ok());
    }
}
