//! The `delta` interface on the Rust host: Python arguments to WIT types.

use pyo3::prelude::*;
use pyo3::types::PyBytes;

use super::bindings::exports::oms::accel::delta::{EncodeOptions, Progress};
use super::{WasmInstance, WasmResource};
use crate::buffer::Input;

const ERROR: &str = "DeltaError";
const ENCODER: &str = "file-encoder";
const DECODER: &str = "file-decoder";

fn options(window_size: u32, source_window_size: u32, checksum: bool) -> EncodeOptions {
    EncodeOptions {
        window_size,
        source_window_size,
        checksum,
    }
}

/// VCDIFF of `new` against `old`.
#[pyfunction]
pub fn wasm_delta_encode<'py>(
    py: Python<'py>,
    inst: &WasmInstance,
    old: Input<'py>,
    new: Input<'py>,
    window_size: u32,
    source_window_size: u32,
    checksum: bool,
) -> PyResult<Bound<'py, PyBytes>> {
    let (old, new) = (old.as_slice(), new.as_slice());
    let opts = options(window_size, source_window_size, checksum);
    let delta = inst.shared().call(py, ERROR, |store, accel| {
        accel.oms_accel_delta().call_encode(store, old, new, opts)
    })?;
    Ok(PyBytes::new(py, &delta))
}

/// `delta` applied to `old`, at most `max_output` bytes; with `verify`, only
/// if every window carries a checksum.
#[pyfunction]
pub fn wasm_delta_decode<'py>(
    py: Python<'py>,
    inst: &WasmInstance,
    old: Input<'py>,
    delta: Input<'py>,
    max_output: u64,
    verify: bool,
) -> PyResult<Bound<'py, PyBytes>> {
    let (old, delta) = (old.as_slice(), delta.as_slice());
    let out = inst.shared().call(py, ERROR, |store, accel| {
        accel
            .oms_accel_delta()
            .call_decode(store, old, delta, max_output, verify)
    })?;
    Ok(PyBytes::new(py, &out))
}

/// A file encoder over guest paths (see `wasm_file_step`).
#[pyfunction]
#[allow(clippy::too_many_arguments)]
pub fn wasm_file_encoder_open(
    py: Python<'_>,
    inst: &WasmInstance,
    old_path: &str,
    new_path: &str,
    out_path: &str,
    window_size: u32,
    source_window_size: u32,
    checksum: bool,
) -> PyResult<WasmResource> {
    let opts = options(window_size, source_window_size, checksum);
    let shared = inst.shared();
    shared.call_resource(py, ERROR, ENCODER, |store, accel| {
        accel
            .oms_accel_delta()
            .file_encoder()
            .call_open(store, old_path, new_path, out_path, opts)
    })
}

/// A file decoder over guest paths (see `wasm_file_step`).
#[pyfunction]
pub fn wasm_file_decoder_open(
    py: Python<'_>,
    inst: &WasmInstance,
    old_path: &str,
    delta_path: &str,
    out_path: &str,
    max_output: u64,
    verify: bool,
) -> PyResult<WasmResource> {
    let shared = inst.shared();
    shared.call_resource(py, ERROR, DECODER, |store, accel| {
        accel
            .oms_accel_delta()
            .file_decoder()
            .call_open(store, old_path, delta_path, out_path, max_output, verify)
    })
}

/// One window of a file encoder or decoder: (done, total, finished).
#[pyfunction]
pub fn wasm_file_step(py: Python<'_>, op: &WasmResource) -> PyResult<(u64, u64, bool)> {
    let encoder = op.kind() == ENCODER;
    let handle = op.handle(py, if encoder { ENCODER } else { DECODER })?;
    let p: Progress = op.shared().call(py, ERROR, |store, accel| {
        let delta = accel.oms_accel_delta();
        if encoder {
            delta.file_encoder().call_step(store, handle)
        } else {
            delta.file_decoder().call_step(store, handle)
        }
    })?;
    Ok((p.done, p.total, p.finished))
}
