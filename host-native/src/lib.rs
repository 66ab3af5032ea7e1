//! `oms_accel._native`: the Rust host of the WASM component (`component`),
//! and what the component cannot reach: the C libraries zstd and xdelta3,
//! vector search with the CPU's widest SIMD (`vector`), and the GPU (cargo
//! feature `gpu`).
//!
//! Every function takes its inputs as buffers without copying them
//! ([`buffer::Input`]), releases the GIL while the C code runs, and raises
//! the package's own exceptions (`oms_accel.errors`) on bad input.

mod buffer;
mod component;
mod errors;
#[cfg(feature = "gpu")]
mod gpu;
mod vector;
mod xdelta;
mod zstd_codec;

use pyo3::prelude::*;

/// Rust allocations of this module (results lifted out of the component,
/// zstd and xdelta3 buffers) reuse memory instead of mapping fresh pages
/// per call (see Cargo.toml). Python's own objects keep Python's allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The crate version, the profile and the target it was built for.
#[pyfunction]
fn build_info() -> (String, String, String) {
    let profile = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    (
        env!("CARGO_PKG_VERSION").to_string(),
        profile.to_string(),
        std::env::consts::ARCH.to_string() + "-" + std::env::consts::OS,
    )
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("ZSTD_VERSION", zstd::zstd_safe::version_string())?;
    m.add_function(wrap_pyfunction!(build_info, m)?)?;
    m.add_function(wrap_pyfunction!(zstd_codec::zstd_compress, m)?)?;
    m.add_function(wrap_pyfunction!(zstd_codec::zstd_decompress, m)?)?;
    m.add_function(wrap_pyfunction!(zstd_codec::zstd_patch_encode, m)?)?;
    m.add_function(wrap_pyfunction!(zstd_codec::zstd_patch_decode, m)?)?;
    m.add_function(wrap_pyfunction!(xdelta::xdelta3_encode, m)?)?;
    m.add_function(wrap_pyfunction!(xdelta::xdelta3_decode, m)?)?;
    component::register(m)?;
    vector::register(m)?;
    #[cfg(feature = "gpu")]
    {
        m.add_function(wrap_pyfunction!(gpu::gpu_adapter, m)?)?;
        m.add_class::<gpu::GpuMatrix>()?;
        m.add("GPU_MAX_DIM", gpu::MAX_DIM)?;
        m.add("GPU_MAX_K", gpu::MAX_K)?;
    }
    Ok(())
}
