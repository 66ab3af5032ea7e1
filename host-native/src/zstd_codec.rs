//! zstd frames and patch-from deltas (`oms_accel_codecs::zstd_frame`), with
//! the GIL released. A bad delta raises `DeltaError`, a bad plain frame
//! `CompressionError`.

use crate::buffer::Input;
use crate::errors::codec_error;
use oms_accel_codecs::zstd_frame::{self, WINDOW_LOG_MAX};
use pyo3::prelude::*;
use pyo3::types::PyBytes;

fn capability(prefix: Option<&[u8]>) -> &'static str {
    if prefix.is_some() {
        "DeltaError"
    } else {
        "CompressionError"
    }
}

fn compress(
    py: Python<'_>,
    data: &[u8],
    level: i32,
    prefix: Option<&[u8]>,
) -> PyResult<Py<PyBytes>> {
    let out = py
        .detach(|| zstd_frame::compress(data, level, prefix))
        .map_err(|e| codec_error(py, e, capability(prefix)))?;
    Ok(PyBytes::new(py, &out).unbind())
}

/// Decodes one frame (a delta when `prefix` is the old version); a frame of
/// plausible size straight into the resulting `bytes`, one pass, no copy.
fn decompress(
    py: Python<'_>,
    frame: &[u8],
    prefix: Option<&[u8]>,
    max_output: u64,
    max_window_log: u32,
    verify: bool,
) -> PyResult<Py<PyBytes>> {
    let raise = |e| codec_error(py, e, capability(prefix));
    let plan =
        zstd_frame::plan(frame, prefix, max_output, max_window_log, verify).map_err(raise)?;
    if !plan.in_place {
        let out = py.detach(|| plan.decode_growing()).map_err(raise)?;
        return Ok(PyBytes::new(py, &out).unbind());
    }
    let mut result = Ok(());
    let bytes = PyBytes::new_with(py, plan.size as usize, |buf| {
        result = py.detach(|| plan.decode_into(buf));
        Ok(())
    })?;
    result.map_err(raise)?;
    Ok(bytes.unbind())
}

/// A zstd frame of `data` at `level`, with content size and checksum.
#[pyfunction]
#[pyo3(signature = (data, level=3))]
pub fn zstd_compress(py: Python<'_>, data: Input<'_>, level: i32) -> PyResult<Py<PyBytes>> {
    compress(py, data.as_slice(), level, None)
}

/// The content of one zstd frame, refusing frames over `max_output` bytes.
#[pyfunction]
#[pyo3(signature = (frame, max_output, max_window_log=WINDOW_LOG_MAX))]
pub fn zstd_decompress(
    py: Python<'_>,
    frame: Input<'_>,
    max_output: u64,
    max_window_log: u32,
) -> PyResult<Py<PyBytes>> {
    decompress(
        py,
        frame.as_slice(),
        None,
        max_output,
        max_window_log,
        false,
    )
}

/// A zstd patch-from delta: `new` compressed with `old` as reference prefix.
#[pyfunction]
#[pyo3(signature = (old, new, level=3))]
pub fn zstd_patch_encode(
    py: Python<'_>,
    old: Input<'_>,
    new: Input<'_>,
    level: i32,
) -> PyResult<Py<PyBytes>> {
    compress(py, new.as_slice(), level, Some(old.as_slice()))
}

/// The new version from `old` and a patch-from `delta`; with `verify`, only
/// if the frame carries a checksum.
#[pyfunction]
#[pyo3(signature = (old, delta, max_output, max_window_log=WINDOW_LOG_MAX, verify=true))]
pub fn zstd_patch_decode(
    py: Python<'_>,
    old: Input<'_>,
    delta: Input<'_>,
    max_output: u64,
    max_window_log: u32,
    verify: bool,
) -> PyResult<Py<PyBytes>> {
    decompress(
        py,
        delta.as_slice(),
        Some(old.as_slice()),
        max_output,
        max_window_log,
        verify,
    )
}
