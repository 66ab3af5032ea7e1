//! The `vector` interface on the Rust host: Python arguments to WIT types.
//! Vectors cross as raw little-endian f32 rows, ids as u64, both read in
//! place from the caller's buffer when it is aligned (a copy otherwise).

use pyo3::prelude::*;
use pyo3::types::PyBytes;

use super::bindings::exports::oms::accel::vector::{Metric, Storage};
use super::types::{Error, ErrorCode};
use super::{WasmInstance, WasmResource};
use crate::buffer::{values, Input};

const ERROR: &str = "VectorError";
/// Guest memory an add needs beyond its arguments: a row of scratch (at
/// most 256 KiB, for 65536 dimensions) and the message of an error.
const ADD_MARGIN: usize = 1 << 20;
const INDEX: &str = "index";

#[cfg(not(target_endian = "little"))]
compile_error!("the vector wire format is little-endian, and so is every host this builds for");

/// A metric by name, parsed where the native backend parses it.
fn metric(py: Python<'_>, name: &str) -> PyResult<Metric> {
    use oms_accel_guest::vector::Metric as M;
    Ok(match crate::vector::metric(py, name)? {
        M::Cosine => Metric::Cosine,
        M::Dot => Metric::Dot,
        M::L2 => Metric::L2,
    })
}

/// A storage by name, parsed where the native backend parses it.
fn storage(py: Python<'_>, name: &str) -> PyResult<Storage> {
    use oms_accel_guest::vector::Storage as S;
    Ok(match crate::vector::storage(py, name)? {
        S::F32 => Storage::F32,
        S::F16 => Storage::F16,
        S::I8 => Storage::I8,
    })
}

/// An empty index.
#[pyfunction]
pub fn wasm_index_create(
    py: Python<'_>,
    inst: &WasmInstance,
    dimension: u32,
    metric_name: &str,
    storage_name: &str,
) -> PyResult<WasmResource> {
    let (m, s) = (metric(py, metric_name)?, storage(py, storage_name)?);
    let shared = inst.shared();
    shared.call_resource(py, ERROR, INDEX, |store, accel| {
        accel
            .oms_accel_vector()
            .index()
            .call_create(store, dimension, m, s)
    })
}

/// Adds rows of f32 under u64 ids (all or nothing).
///
/// A shard's instance holds the index itself, so a batch that might not fit
/// is refused before it crosses: the arguments land in guest memory before
/// the guest can check anything, and running out there would trap and take
/// the index with it. The rows stored from that copy the guest allocates
/// itself, and a refusal there is an error that leaves the index as it was
/// (`guest/src/vector/rows.rs`), so what must fit is the copy plus
/// `ADD_MARGIN` (the guest's scratch row and an error's message). The wasm
/// backend adds a large batch in parts, so that guest memory holds the rows
/// and one part, not the rows and the whole batch.
#[pyfunction]
pub fn wasm_index_add<'py>(
    py: Python<'py>,
    index: &WasmResource,
    vectors: Input<'py>,
    ids: Input<'py>,
) -> PyResult<u64> {
    let h = index.handle(py, INDEX)?;
    let v = values::<f32>(py, vectors.as_slice(), "the vectors")?;
    let i = values::<u64>(py, ids.as_slice(), "the ids")?;
    let (v, i) = (&*v, &*i);
    let batch = std::mem::size_of_val(v) + std::mem::size_of_val(i);
    index.shared().call(py, ERROR, |store, accel| {
        if let Some(e) = no_room(&store.data().limiter, batch, batch) {
            return Ok(Err(e));
        }
        accel.oms_accel_vector().index().call_add(store, h, v, i)
    })
}

/// Refuses, as `add` would, a batch of `batch` bytes whose parts need
/// `need` bytes of guest memory at most (and `ADD_MARGIN`): asked before
/// the first part crosses, so that a batch that cannot fit is refused
/// before any part grows the shard's memory (which never shrinks: grown to
/// its limit by parts then taken back, a shard would refuse every later
/// add).
#[pyfunction]
pub fn wasm_index_check_room(
    py: Python<'_>,
    index: &WasmResource,
    batch: usize,
    need: usize,
) -> PyResult<()> {
    index.handle(py, INDEX)?;
    index.shared().call(py, ERROR, |store, _| {
        Ok(no_room(&store.data().limiter, batch, need).map_or(Ok(()), Err))
    })
}

/// The error for `batch` bytes of vectors that need `need` bytes (and
/// `ADD_MARGIN`) more than the shard's memory in use, where those might
/// pass its limit.
fn no_room(limiter: &super::MemoryLimiter, batch: usize, need: usize) -> Option<Error> {
    (!limiter.fits(need.saturating_add(ADD_MARGIN))).then(|| Error {
        code: ErrorCode::LimitExceeded,
        message: format!(
            "out of memory: adding {} MiB of vectors to a shard using {} MiB could pass its limit of {} MiB",
            batch >> 20,
            limiter.used >> 20,
            limiter.limit >> 20
        ),
        position: None,
    })
}

/// Keeps the first `len` rows: the undo of the parts of a batch added
/// before one was refused.
#[pyfunction]
pub fn wasm_index_truncate(py: Python<'_>, index: &WasmResource, len: u64) -> PyResult<()> {
    let h = index.handle(py, INDEX)?;
    index.shared().call(py, ERROR, |store, accel| {
        accel
            .oms_accel_vector()
            .index()
            .call_truncate(store, h, len)
            .map(Ok)
    })
}

/// Each query's hits, as records of id u64 and score f32.
#[pyfunction]
pub fn wasm_index_search<'py>(
    py: Python<'py>,
    index: &WasmResource,
    queries: Input<'py>,
    k: u32,
) -> PyResult<Bound<'py, PyBytes>> {
    let h = index.handle(py, INDEX)?;
    let q = values::<f32>(py, queries.as_slice(), "the queries")?;
    let q = &*q;
    let hits = index.shared().call(py, ERROR, |store, accel| {
        accel
            .oms_accel_vector()
            .index()
            .call_search_batch(store, h, q, k)
    })?;
    Ok(PyBytes::new(py, &hits))
}

/// `count` records from the `start`th, as an index file holds them (fewer
/// past the end): a part of the index, taken out so that guest memory
/// never holds the whole file beside the rows.
#[pyfunction]
pub fn wasm_index_records<'py>(
    py: Python<'py>,
    index: &WasmResource,
    start: u64,
    count: u64,
) -> PyResult<Bound<'py, PyBytes>> {
    let h = index.handle(py, INDEX)?;
    let data = index.shared().call(py, ERROR, |store, accel| {
        accel
            .oms_accel_vector()
            .index()
            .call_records(store, h, start, count)
    })?;
    Ok(PyBytes::new(py, &data))
}

/// Appends records as an index file holds them (all or nothing): a part of
/// an index being loaded. Refused before it crosses when it might not fit,
/// as `wasm_index_add` refuses a batch.
#[pyfunction]
pub fn wasm_index_add_records<'py>(
    py: Python<'py>,
    index: &WasmResource,
    records: Input<'py>,
) -> PyResult<u64> {
    let h = index.handle(py, INDEX)?;
    let data = records.as_slice();
    index.shared().call(py, ERROR, |store, accel| {
        if let Some(e) = no_room(&store.data().limiter, data.len(), data.len()) {
            return Ok(Err(e));
        }
        accel
            .oms_accel_vector()
            .index()
            .call_add_records(store, h, data)
    })
}

/// Scores of every row of `a` against every row of `b`, as f32 bytes, row-major.
#[pyfunction]
pub fn wasm_similarity<'py>(
    py: Python<'py>,
    inst: &WasmInstance,
    a: Input<'py>,
    b: Input<'py>,
    dimension: u32,
    metric_name: &str,
) -> PyResult<Bound<'py, PyBytes>> {
    let m = metric(py, metric_name)?;
    let a = values::<f32>(py, a.as_slice(), "a")?;
    let b = values::<f32>(py, b.as_slice(), "b")?;
    let (a, b) = (&*a, &*b);
    let scores = inst.shared().call(py, ERROR, |store, accel| {
        accel
            .oms_accel_vector()
            .call_similarity(store, a, b, dimension, m)
    })?;
    // SAFETY: f32 has no padding and every host is little-endian (above):
    // its bytes are the wire format.
    let raw = unsafe {
        std::slice::from_raw_parts(
            scores.as_ptr().cast::<u8>(),
            std::mem::size_of_val(&scores[..]),
        )
    };
    Ok(PyBytes::new(py, raw))
}
