//! oms-accel guest logic.
//!
//! Everything here is ordinary Rust that compiles and tests natively; the
//! `component` module (wasm32 only) is the thin layer that maps it onto the
//! WIT world in `../wit`.

pub mod error;
/// The fuzz targets' bodies (run natively only: cargo fuzz and the smoke test).
#[cfg(all(
    not(target_arch = "wasm32"),
    feature = "delta",
    feature = "json",
    feature = "vector"
))]
pub mod fuzz;
#[cfg(feature = "json")]
pub mod json;
#[cfg(feature = "delta")]
pub mod vcdiff;
#[cfg(feature = "vector")]
pub mod vector;
pub mod wire;

#[cfg(all(
    target_arch = "wasm32",
    feature = "delta",
    feature = "json",
    feature = "vector"
))]
mod component;

pub use error::{Error, ErrorCode, Position, Result};
