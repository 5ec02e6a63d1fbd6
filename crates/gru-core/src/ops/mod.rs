//! Layers and losses, each with its forward and backward side by side.

pub mod activation;
pub mod dense;
pub mod dropout;
pub mod fastmath;
pub mod gru;
pub mod loss;
pub mod masking;
pub mod merge;
