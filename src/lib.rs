//! taskengine: a work-stealing parallel task engine with a C ABI and bundled C kernels.
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

pub mod alloc;
pub mod error;

pub use error::{EngineError, Result};
