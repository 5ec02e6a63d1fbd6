//! gru-core: the maths of gru-wasm in plain Rust, with no WebAssembly
//! bindings, so `cargo test` runs it natively.
//!
//! All tensors are `f32`, row-major, in the Keras / TensorFlow.js layouts;
//! see [`ops::gru`] for the GRU conventions.

pub mod error;
pub mod gemm;
pub mod init;
pub mod ops;
pub mod optim;
pub mod simd;

#[cfg(test)]
pub(crate) mod testing;

pub use error::{KernelError, KernelResult};
