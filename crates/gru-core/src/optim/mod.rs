//! Optimizers and gradient clipping, with Keras 3's formulas, each applied
//! to one parameter tensor at a time; the wasm surface calls them over all of
//! a model's tensors in one call. One optimizer per file, its state beside it.

pub mod adagrad;
pub mod adam;
pub mod clip;
pub mod constrain;
pub mod reduce;
pub mod regularize;
pub mod rmsprop;
pub mod sgd;

#[cfg(test)]
mod tests;
