//! VCDIFF by the xdelta3 C library (`oms_accel_codecs::xdelta`), with the GIL released.

use crate::buffer::Input;
use crate::errors::codec_error;
use oms_accel_codecs::xdelta;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

/// A VCDIFF delta from `old` to `new` by the xdelta3 library, with window checksums.
#[pyfunction]
pub fn xdelta3_encode(py: Python<'_>, old: Input<'_>, new: Input<'_>) -> PyResult<Py<PyBytes>> {
    let (old, new) = (old.as_slice(), new.as_slice());
    let out = py
        .detach(|| xdelta::encode(old, new))
        .map_err(|e| codec_error(py, e, "DeltaError"))?;
    Ok(PyBytes::new(py, &out).unbind())
}

/// The new version from `old` and a VCDIFF `delta`, by the xdelta3 library;
/// checksums in the delta are verified.
#[pyfunction]
pub fn xdelta3_decode(
    py: Python<'_>,
    old: Input<'_>,
    delta: Input<'_>,
    max_output: u64,
) -> PyResult<Py<PyBytes>> {
    let (old, delta) = (old.as_slice(), delta.as_slice());
    let out = py
        .detach(|| xdelta::decode(old, delta, max_output))
        .map_err(|e| codec_error(py, e, "DeltaError"))?;
    Ok(PyBytes::new(py, &out).unbind())
}
