//! `oms_accel._native`: what the WASM component cannot reach cheaply.
//! For now it reports its version and build; zstd, xdelta3 and the GPU
//! path arrive with their issues.

use pyo3::prelude::*;

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
    m.add_function(wrap_pyfunction!(build_info, m)?)?;
    Ok(())
}
