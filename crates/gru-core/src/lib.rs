//! gru-core: the maths of gru-wasm in plain Rust, with no WebAssembly
//! bindings, so `cargo test` runs it natively.
//!
//! All tensors are `f32`, row-major, in the Keras / TensorFlow.js layouts;
//! see [`ops::gru`] for the GRU conventions.

// Blocking on a word of the shared memory (the threaded wasm build, which is
// built with RUSTC_BOOTSTRAP for `-Zbuild-std` already).
#![cfg_attr(all(target_arch = "wasm32", target_feature = "atomics"), feature(stdarch_wasm_atomic_wait))]
// `fmuladdf32` (multiply-add, fused where profitable) for the relaxed-SIMD
// builds' elementwise functions; Rust has no stable way to ask for it.
#![cfg_attr(target_feature = "relaxed-simd", feature(core_intrinsics), allow(internal_features))]

pub mod cancel;
pub mod error;
pub mod gemm;
pub mod init;
pub mod ops;
pub mod optim;
pub mod simd;

#[cfg(test)]
pub(crate) mod testing;

pub use error::{KernelError, KernelResult};
