//! The one error type of the kernel: which operation, which argument, what
//! was expected and what was given.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KernelError {
    pub op: &'static str,
    pub message: String,
}

impl KernelError {
    pub fn new(op: &'static str, message: impl Into<String>) -> Self {
        KernelError { op, message: message.into() }
    }
}

impl fmt::Display for KernelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.op, self.message)
    }
}

impl std::error::Error for KernelError {}

pub type KernelResult<T> = Result<T, KernelError>;

/// Checks that `got` floats is exactly the element count of `shape`.
pub fn expect_len(op: &'static str, name: &str, got: usize, shape: &[usize]) -> KernelResult<()> {
    let expected = element_count(op, name, shape)?;
    if got == expected {
        Ok(())
    } else {
        Err(KernelError::new(op, format!("`{name}` has {got} floats, expected {expected} for shape {shape:?}")))
    }
}

/// The product of `shape`, or an error if it overflows.
pub fn element_count(op: &'static str, name: &str, shape: &[usize]) -> KernelResult<usize> {
    shape
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| KernelError::new(op, format!("`{name}` shape {shape:?} overflows the address space")))
}

/// Checks that a dimension is at least 1.
pub fn expect_positive(op: &'static str, name: &str, value: usize) -> KernelResult<()> {
    if value == 0 {
        Err(KernelError::new(op, format!("`{name}` must be at least 1, got 0")))
    } else {
        Ok(())
    }
}

/// `len` zeroed floats, or an error naming what they were for when memory
/// is exhausted: the kernel's large temporaries are allocated through this,
/// so running out of memory is an error, not an abort.
pub fn zeroed(op: &'static str, name: &str, len: usize) -> KernelResult<Vec<f32>> {
    let mut buffer = Vec::new();
    buffer
        .try_reserve_exact(len)
        .map_err(|_| KernelError::new(op, format!("out of memory for {name} ({} bytes)", len.saturating_mul(4))))?;
    buffer.resize(len, 0.0);
    Ok(buffer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zeroed_reports_exhausted_memory_instead_of_aborting() {
        assert_eq!(zeroed("op", "a buffer", 3).unwrap(), vec![0.0; 3]);
        let err = zeroed("gru_forward", "the input projection", usize::MAX / 8).unwrap_err();
        assert_eq!(err.op, "gru_forward");
        assert!(err.message.starts_with("out of memory for the input projection"), "{err}");
    }
}
