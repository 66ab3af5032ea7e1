//! Vector search on the CPU, natively: the `native` backend of
//! `oms_accel.vector`.
//!
//! The index is the guest's own (`oms_accel_guest::vector::Index`): the same
//! storage, file format, arithmetic and ties as the component, its scoring
//! loop run with the widest SIMD this CPU has (`vector::simd`: AVX2 and
//! AVX-512 chosen at run time on x86_64), scores bit-identical to the
//! component's. What this file adds is threads: rows are split over them,
//! each keeps its own best k, merged after (ties go to the smaller id, a
//! total order, so the merge is exact). The GIL is released while anything
//! is scored, and the inputs are read in place from the caller's buffers
//! (numpy arrays included).

use std::ops::Range;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use rayon::{ThreadPool, ThreadPoolBuilder};

use oms_accel_guest::vector::simd::{level, set_level, Level};
use oms_accel_guest::vector::{
    check_similarity, norm, similarity_each, similarity_shape, Index, Metric, Storage, TopK,
};
use oms_accel_guest::Error;
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes};

use crate::buffer::{values, Input};
use crate::errors;

/// Rows' bytes (times queries) below which another thread costs more than it saves.
const MIN_BYTES_PER_THREAD: usize = 1 << 20;
/// Chunks a thread's share of the rows is cut into (`search`), and the
/// smallest chunk: a chunk costs a merge of its best k and a restart of the
/// prefetch, negligible at this size.
const CHUNKS_PER_THREAD: usize = 16;
const MIN_CHUNK_BYTES: usize = 1 << 20;

/// How many threads `work` bytes of scoring deserve, at most `threads`.
fn parts_for(work: usize, threads: usize) -> usize {
    (work / MIN_BYTES_PER_THREAD).clamp(1, threads.max(1))
}

/// The `i`th of `parts` ranges of nearly equal length that cut `0..n`.
fn nth_range(n: usize, parts: usize, i: usize) -> Range<usize> {
    n * i / parts..n * (i + 1) / parts
}

/// `0..n` cut into `parts` ranges of nearly equal length.
fn split(n: usize, parts: usize) -> Vec<Range<usize>> {
    (0..parts).map(|i| nth_range(n, parts, i)).collect()
}

/// The worker threads: started once per process, so that a search does not
/// pay for starting threads (and their allocator heaps) each time: one
/// query over 5,000 rows on two threads took 280-365 us that way, against
/// 131 for numpy's sgemv on its standing OpenBLAS threads. A forked child
/// starts its own (threads do not survive `fork()`); the parent's pool is
/// never touched there. None where no thread can be started.
fn pool() -> Option<Arc<ThreadPool>> {
    static POOL: Mutex<Option<(u32, Arc<ThreadPool>)>> = Mutex::new(None);
    let pid = std::process::id();
    let mut held = POOL.lock().unwrap_or_else(|p| p.into_inner());
    if let Some((made_by, pool)) = held.as_ref() {
        if *made_by == pid {
            return Some(Arc::clone(pool));
        }
    }
    // A parent's pool: dropping it would signal threads that are not here.
    std::mem::forget(held.take());
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let pool = ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("oms-accel-vector-{i}"))
        .build()
        .ok()?;
    let pool = Arc::new(pool);
    *held = Some((pid, Arc::clone(&pool)));
    Some(pool)
}

/// Runs `jobs` (the first on this thread, the rest on the pool) and returns
/// their results in order; all on this thread where the pool cannot start.
fn run_all<T: Send>(jobs: Vec<impl FnOnce() -> T + Send>) -> Vec<T> {
    let pool = if jobs.len() > 1 { pool() } else { None };
    let Some(pool) = pool else {
        return jobs.into_iter().map(|job| job()).collect();
    };
    let mut out: Vec<Option<T>> = jobs.iter().map(|_| None).collect();
    pool.in_place_scope(|scope| {
        let mut jobs = jobs.into_iter();
        let mut slots = out.iter_mut();
        let first = jobs.next().zip(slots.next());
        for (job, slot) in jobs.zip(slots) {
            scope.spawn(move |_| *slot = Some(job()));
        }
        if let Some((job, slot)) = first {
            *slot = Some(job());
        }
    });
    out.into_iter()
        .map(|done| done.expect("a scope ends when its jobs have"))
        .collect()
}

/// The best `k` for each prepared query over all rows, rows split over threads.
///
/// The rows are cut into chunks that the threads take in turn, not into one
/// range per thread: a thread that is held up (by other work on its core)
/// no longer keeps the search waiting for its share. Measured with a busy
/// loop on one of two cores, one query on two threads, median of 30: 1M x
/// 384 f32 91 ms with one range per thread, 71.5 with chunks; 100k 8.6 and
/// 6.6. On idle cores the two are the same (about 52 ms at 1M).
fn search(index: &Index, prepared: &[f32], k: usize, threads: usize) -> Vec<TopK> {
    let queries = prepared.len() / index.dim().max(1);
    let row_bytes = index.dim() * storage_bytes(index.storage());
    let rows = index.len();
    let parts = parts_for(rows * row_bytes * queries.max(1), threads).min(rows.max(1));
    let chunks = chunks_for(rows, row_bytes, parts);
    let next = AtomicUsize::new(0);
    let take = || {
        let mut best: Option<Vec<TopK>> = None;
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            if i >= chunks {
                break;
            }
            let part = index.best_of_rows(prepared, k, nth_range(rows, chunks, i));
            match best.as_mut() {
                None => best = Some(part),
                Some(best) => merge(best, part),
            }
        }
        best
    };
    let mut results = run_all((0..parts).map(|_| &take).collect())
        .into_iter()
        .flatten();
    let mut best = results
        .next()
        .unwrap_or_else(|| index.best_of_rows(prepared, k, 0..0));
    for part in results {
        merge(&mut best, part);
    }
    best
}

fn merge(best: &mut [TopK], part: Vec<TopK>) {
    for (mine, theirs) in best.iter_mut().zip(part) {
        mine.merge(theirs);
    }
}

/// How many chunks `rows` rows of `row_bytes` each are cut into for `parts`
/// threads: up to `CHUNKS_PER_THREAD` each, none under `MIN_CHUNK_BYTES`.
fn chunks_for(rows: usize, row_bytes: usize, parts: usize) -> usize {
    if parts < 2 {
        return 1;
    }
    (rows * row_bytes / MIN_CHUNK_BYTES).clamp(parts, parts * CHUNKS_PER_THREAD)
}

fn storage_bytes(s: Storage) -> usize {
    match s {
        Storage::F32 => 4,
        Storage::F16 => 2,
        Storage::I8 => 1,
    }
}

/// A metric by name (the Python package's names).
pub(crate) fn metric(py: Python<'_>, name: &str) -> PyResult<Metric> {
    match name {
        "cosine" => Ok(Metric::Cosine),
        "dot" => Ok(Metric::Dot),
        "l2" => Ok(Metric::L2),
        other => Err(errors::argument_error(
            py,
            format!("unknown metric {other:?}: expected cosine, dot or l2"),
        )),
    }
}

/// A storage by name: the dtype's (the Python package's names).
pub(crate) fn storage(py: Python<'_>, name: &str) -> PyResult<Storage> {
    match name {
        "f32" => Ok(Storage::F32),
        "f16" => Ok(Storage::F16),
        "i8" => Ok(Storage::I8),
        other => Err(errors::argument_error(
            py,
            format!("unknown dtype {other:?}: expected f32, f16 or i8"),
        )),
    }
}

/// A guest error as the package's exception (`VectorError` for a damaged file).
fn vector_error(py: Python<'_>, e: Error) -> PyErr {
    errors::guest_error(py, e, "VectorError")
}

/// An exact vector index in this process's memory, searched with the
/// widest SIMD the CPU has, on `threads` threads.
#[pyclass(frozen, module = "oms_accel._native")]
pub struct NativeIndex {
    index: RwLock<Index>,
    threads: usize,
}

impl NativeIndex {
    fn read(&self) -> std::sync::RwLockReadGuard<'_, Index> {
        // A panic while holding the lock leaves the index as it was (add is
        // all or nothing), so a poisoned lock is still a usable index.
        self.index.read().unwrap_or_else(|p| p.into_inner())
    }
}

#[pymethods]
impl NativeIndex {
    /// An empty index of `dimension`, `metric` ("cosine", "dot", "l2") and
    /// `dtype` ("f32", "f16", "i8").
    #[new]
    fn new(
        py: Python<'_>,
        dimension: u32,
        metric_name: &str,
        dtype: &str,
        threads: usize,
    ) -> PyResult<Self> {
        let index = Index::new(dimension, metric(py, metric_name)?, storage(py, dtype)?)
            .map_err(|e| vector_error(py, e))?;
        Ok(NativeIndex {
            index: RwLock::new(index),
            threads,
        })
    }

    /// The index in an index file's bytes, every field checked.
    #[staticmethod]
    fn from_bytes(py: Python<'_>, data: Input<'_>, threads: usize) -> PyResult<Self> {
        let bytes = data.as_slice();
        let index = py
            .detach(|| Index::from_bytes(bytes))
            .map_err(|e| vector_error(py, e))?;
        Ok(NativeIndex {
            index: RwLock::new(index),
            threads,
        })
    }

    fn __len__(&self) -> usize {
        self.read().len()
    }

    /// Adds rows of little-endian f32 under u64 ids: all or nothing.
    fn add(&self, py: Python<'_>, vectors: Input<'_>, ids: Input<'_>) -> PyResult<()> {
        let v = values::<f32>(py, vectors.as_slice(), "the vectors")?;
        let i = values::<u64>(py, ids.as_slice(), "the ids")?;
        py.detach(|| {
            let mut index = self.index.write().unwrap_or_else(|p| p.into_inner());
            let added = index.add(&v, &i);
            // The rows' old buffer, freed as they grew, goes back now.
            give_back_freed_memory();
            added
        })
        .map_err(|e| vector_error(py, e))
    }

    /// The best `k` hits of each query (rows of little-endian f32), best
    /// first: a list per query of `(id, score)`.
    fn search(
        &self,
        py: Python<'_>,
        queries: Input<'_>,
        k: usize,
    ) -> PyResult<Vec<Vec<(u64, f32)>>> {
        let q = values::<f32>(py, queries.as_slice(), "the queries")?;
        let threads = self.threads;
        let best = py
            .detach(|| {
                let index = self.read();
                let prepared = index.prepare_queries(&q, k)?;
                Ok(search(&index, &prepared, k, threads))
            })
            .map_err(|e| vector_error(py, e))?;
        Ok(best
            .into_iter()
            .map(|b| {
                b.into_sorted()
                    .into_iter()
                    .map(|h| (h.id, h.score))
                    .collect()
            })
            .collect())
    }

    /// The records of the index file (without its header).
    fn records<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        let file = py.detach(|| self.read().to_bytes());
        PyBytes::new(py, &file[oms_accel_guest::vector::format::HEADER_LEN..])
    }
}

impl Drop for NativeIndex {
    fn drop(&mut self) {
        let rows = std::mem::replace(
            self.index.get_mut().unwrap_or_else(|p| p.into_inner()),
            Index::new(1, Metric::Dot, Storage::F32).expect("a valid empty index"),
        );
        drop(rows);
        give_back_freed_memory();
    }
}

/// Returns the memory mimalloc holds freed to the system. It keeps freed
/// pages for reuse (which is why the module uses it: per-call buffers cost
/// no page faults), but an index's rows are hundreds of MB that must come
/// back when it is dropped, and the buffers left behind as rows grow must
/// not count against it.
fn give_back_freed_memory() {
    // SAFETY: mi_collect only walks mimalloc's own structures; it is safe
    // from any thread at any time.
    unsafe { libmimalloc_sys::mi_collect(true) }
}

/// Scores of every row of `a` against every row of `b` (little-endian f32
/// rows of `dimension`), row-major, written straight into the bytearray
/// returned (numpy wraps it without a copy). `b`'s rows are split over
/// threads, each scoring every row of `a` against its part: with a few
/// queries and many rows, as `similarity` is mostly called, that
/// parallelizes the checks and norms of `b` too.
///
/// Cosine and dot go through an sgemm (see [`gemm_part`]); L2 through the
/// index's own kernel, whose differences cannot be had from a product
/// without cancellation.
#[pyfunction]
pub fn native_similarity<'py>(
    py: Python<'py>,
    a: Input<'py>,
    b: Input<'py>,
    dimension: u32,
    metric_name: &str,
    threads: usize,
) -> PyResult<Bound<'py, PyByteArray>> {
    let m = metric(py, metric_name)?;
    let a = values::<f32>(py, a.as_slice(), "the first batch")?;
    let b = values::<f32>(py, b.as_slice(), "the second batch")?;
    let dim = dimension as usize;
    let (_, nb) = similarity_shape(&a, &b, dim).map_err(|e| vector_error(py, e))?;
    let bytes = a.len() / dim * nb * 4; // checked by similarity_shape
                                        // `a` checked and prepared once (unit length, for cosine), before `b`.
    let queries = match m {
        Metric::L2 => Vec::new(),
        _ => py
            .detach(|| Index::new(dimension, m, Storage::F32)?.prepare_queries(&a, 1))
            .map_err(|e| vector_error(py, e))?,
    };
    PyByteArray::new_with(py, bytes, |raw| {
        let out = Cells(raw.as_mut_ptr().cast::<f32>());
        let failed = py.detach(|| {
            let parts = parts_for(bytes.max(b.len() * 4), threads).min(nb.max(1));
            let jobs: Vec<_> = split(nb, parts)
                .into_iter()
                .map(|cols| {
                    let part = &b[cols.start * dim..cols.end * dim];
                    let (a, queries, out) = (&a, &queries, &out);
                    move || -> Result<(), Error> {
                        if m == Metric::L2 {
                            return similarity_each(a, part, dim, m, |q, r, score| {
                                // SAFETY: q < na and cols.start + r < nb: a cell
                                // of the matrix, written by this part only.
                                unsafe { out.0.add(q * nb + cols.start + r).write(score) }
                            });
                        }
                        // SAFETY: the columns cols of every row are this part's only.
                        unsafe { gemm_part(queries, part, dim, m, out.0.add(cols.start), nb) }
                    }
                })
                .collect();
            run_all(jobs).into_iter().any(|r| r.is_err())
        });
        if failed {
            // Each part checked its own rows; the whole input, checked as
            // one, names the first bad value by its place in `b`.
            let whole = py.detach(|| check_similarity(&a, &b, dim).err());
            let e = whole.unwrap_or_else(|| Error::invalid("the second batch was refused"));
            return Err(vector_error(py, e));
        }
        Ok(())
    })
}

/// Rows of `b` a [`gemm_part`] step takes: 1.5 MB at 384 dimensions, read
/// for their checks and norms and then by the sgemm while in cache.
const GEMM_ROWS: usize = 1024;

/// Cosine or dot scores of the prepared `queries` against `part`'s rows,
/// into columns `0..rows` of a row-major matrix at `out` whose rows are
/// `stride` long; an error for a non-finite value in `part`.
///
/// The product is matrixmultiply's sgemm (FMA, a register-tiled kernel over
/// packed panels). The index kernel's 16-lane order of additions (kept so
/// that the component's scores are matched bit for bit) leaves a horizontal
/// sum per pair and cannot be tiled, which held `similarity` at numpy's
/// speed. So these scores differ from the other backends' in rounding
/// (measured at most 1.5e-7 of |a||b| at 384 dimensions; the tests hold
/// them to the component's within 1e-5 of |a||b|). For cosine, `b`'s rows
/// are not copied and normalized: each column is scaled by its row's
/// inverse norm after the product, the norm and the zero-vector rule (a
/// zero or overflowing norm scores 0) being the index's own.
///
/// # Safety
/// `out` must be valid for writes of `rows` cells at each of the queries'
/// rows (`q * stride + 0..rows`), written by no one else meanwhile.
unsafe fn gemm_part(
    queries: &[f32],
    part: &[f32],
    dim: usize,
    m: Metric,
    out: *mut f32,
    stride: usize,
) -> Result<(), Error> {
    let nq = queries.len() / dim;
    let mut inverse = Vec::with_capacity(GEMM_ROWS);
    for (step, rows) in part.chunks(GEMM_ROWS * dim).enumerate() {
        let n = rows.len() / dim;
        // The norms check the values too: a row with a NaN or an infinity
        // has no finite norm (one whose norm overflows is looked at again).
        inverse.clear();
        for r in rows.chunks_exact(dim) {
            let length = norm(r);
            if !length.is_finite() && r.iter().any(|x| !x.is_finite()) {
                return Err(Error::invalid("a non-finite value")); // named by the caller
            }
            inverse.push(match m {
                Metric::Cosine if length > 0.0 && length.is_finite() => 1.0 / length,
                Metric::Cosine => 0.0,
                _ => 1.0,
            });
        }
        let c = out.add(step * GEMM_ROWS);
        // SAFETY: queries is nq x dim and rows n x dim (read as its
        // transpose: unit row stride, dim column stride); c is nq x n with
        // row stride `stride`, valid for writes as the caller promises.
        matrixmultiply::sgemm(
            nq,
            dim,
            n,
            1.0,
            queries.as_ptr(),
            dim as isize,
            1,
            rows.as_ptr(),
            1,
            dim as isize,
            0.0,
            c,
            stride as isize,
            1,
        );
        for q in 0..nq {
            let cells = std::slice::from_raw_parts_mut(c.add(q * stride), n);
            for (cell, &s) in cells.iter_mut().zip(&inverse) {
                // `+ 0.0` makes a -0.0 score 0.0, as every backend gives it;
                // a zero scale gives 0 even where the product overflowed.
                *cell = if s == 0.0 { 0.0 } else { *cell * s + 0.0 };
            }
        }
    }
    Ok(())
}

/// The similarity matrix's cells, shared by the threads that fill it
/// (each writes its own columns).
struct Cells(*mut f32);

// SAFETY: the threads write disjoint cells and the matrix outlives them
// (they are scoped); nothing reads it until they are done.
unsafe impl Sync for Cells {}

/// The instruction set the kernels use, by name ("avx512", "avx2", "sse2",
/// "neon"); with `wanted`, first switch to that one (or the widest this CPU
/// runs below it): every level gives the same scores, so this is for tests
/// and benchmarks.
#[pyfunction]
#[pyo3(signature = (wanted=None))]
pub fn native_simd(py: Python<'_>, wanted: Option<&str>) -> PyResult<&'static str> {
    if let Some(name) = wanted {
        let level = Level::ALL
            .into_iter()
            .find(|l| l.name() == name)
            .ok_or_else(|| errors::argument_error(py, format!("unknown SIMD level {name:?}")))?;
        set_level(level);
    }
    Ok(level().name())
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<NativeIndex>()?;
    m.add_function(wrap_pyfunction!(native_similarity, m)?)?;
    m.add_function(wrap_pyfunction!(native_simd, m)?)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_cover_everything_once() {
        for n in [0, 1, 7, 100] {
            for parts in 1..5 {
                let ranges = split(n, parts);
                assert_eq!(ranges.len(), parts);
                assert_eq!(ranges.iter().map(|r| r.len()).sum::<usize>(), n);
                assert!(ranges.windows(2).all(|w| w[0].end == w[1].start));
            }
        }
    }
}
