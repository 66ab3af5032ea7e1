//! oms-accel guest logic.
//!
//! Everything here is ordinary Rust that compiles and tests natively; the
//! `component` module (wasm32 only) is the thin layer that maps it onto the
//! WIT world in `../wit`.

pub mod error;
pub mod json;
pub mod vcdiff;
pub mod vector;
pub mod wire;

#[cfg(target_arch = "wasm32")]
mod component;

pub use error::{Error, ErrorCode, Position, Result};
