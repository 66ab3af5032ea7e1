//! An exact (flat) vector index: every search scores every row.
//!
//! Rows are stored as f32, f16 or i8 (one f32 scale per row: the row's
//! largest magnitude maps to 127). For cosine, rows and queries are
//! normalized once, when they enter, so a score is one dot product; a zero
//! vector stays zero and scores 0 against everything.
//!
//! Its file format (`save` / `load`) is in [`super::format`].

use super::kernels::{reduce, Element, Kernel, Portable, Term, F16};
#[cfg(target_arch = "x86_64")]
use super::kernels::{Avx2, Avx512};
use super::rows::Segments;
#[cfg(target_arch = "x86_64")]
use super::simd::Level;
use super::topk::{Hit, TopK};
use super::{check_finite, Metric};
use crate::{Error, Result};
use std::ops::Range;

/// Largest dimension accepted.
pub const MAX_DIM: u32 = 1 << 16;
/// Rows scored against every query of a batch while they are in cache.
const BLOCK_BYTES: usize = 128 << 10;
/// Queries of a batch scored together against each row chunk, and rows per step.
const BATCH_QUERIES: usize = 4;
/// Rows a step (`blocks`: one from each of as many streams). A batch: two
/// in wasm (simd128: the sixteen vector registers Cranelift uses);
/// natively one: four queries times two rows of 16 lanes is 16 accumulator
/// registers, all AVX2 has, and spilling them cost half the speed
/// (measured: 0.50 s -> 0.22 s for 64 queries x 100k x 384). One query:
/// two natively (`blocks` has the numbers); three in wasm, whose loads have
/// no prefetch ahead of them. One query over 100k x 384 on two threads, the
/// Rust host, side by side: one stream 8.0-10.4 ms, two 6.6-7.3, three
/// 5.1-6.1, four 6.9-7.5 (three rows' twelve accumulators, a query value
/// and a row value fill Cranelift's sixteen vector registers; four spill).
///
/// What bounds one query in wasm is how many reads are in flight: 16-byte
/// loads and no prefetch instruction. A shard alone (50k x 384, in L3)
/// takes 3.5-3.8 ms, natively 3.0-3.1; two shards on two threads 5.1-6.4,
/// natively (prefetching) 3.3-3.6 for the same 100k. A C model of this
/// loop on two threads (contiguous halves, huge pages, 128-bit FMA, no
/// spills) took 4.8-5.4 ms with no prefetch, 3.4-3.6 with a 4 KiB prefetch,
/// and 3.6-3.7 with 512-bit loads and no prefetch; numpy 4.9-5.6 in the
/// same minutes. Tried in wasm, side by side: touching rows ahead with a
/// one-byte load per cache line (a stand-in for the prefetch), 6.1 ->
/// 8.7-9.0 ms (each is a demand miss holding a line-fill buffer); one per
/// 4 KiB page, no change; more streams (six or nine, in groups of three
/// rows), 6.6-7.1 against 6.2-7.0; fewer instructions (fused
/// multiply-adds, no spills: `simd128::block` has the numbers), no change.
/// Later, one shard on one thread against a C model of this loop (three
/// far-apart streams, 128-bit loads, huge pages): the same time while the
/// rows are at most 30 MB (5k rows 0.33 ms against 0.32, 20k 1.28 against
/// 1.29), 12-24% slower beyond (50k 3.7 against 3.1, 100k 11.3-11.8
/// against 9.7-9.9), and as slow with one load per cache line instead of
/// four (so not the instructions); the C model with spill stores and
/// reloads of every value as Cranelift makes them ran no slower. Waking
/// the second shard's thread from Rust instead of a Python pool, or running
/// a shard on the calling thread, changed nothing measurable.
const BATCH_ROWS: usize = if cfg!(target_arch = "wasm32") { 2 } else { 1 };
const SINGLE_ROWS: usize = if cfg!(target_arch = "wasm32") { 3 } else { 2 };
/// How far ahead of the row being scored rows are prefetched
/// (`Kernel::prefetch`), by where they come from: an index larger than the
/// last-level cache ([`super::simd::last_level_cache`]) streams from
/// memory. Measured, one query over 384-wide f32 rows (1536 bytes) on two
/// threads, on a Xeon with 480 MiB of L3: 100k rows (in L3) 6.1-6.4 ms
/// with no prefetch, 4.2-4.4 at 4 KiB, 3.7-4.0 at 8 KiB (in a quieter run
/// 3.2 at 4 KiB, 3.7-3.8 one row ahead); 1M rows (from DRAM) 75-77 ms with
/// none, 51-54 at 4 KiB, 48-50 one row ahead, 55-59 at 8 KiB. From memory,
/// the hardware's own prefetchers carry the stream, and prefetches far
/// ahead of them only compete for the line buffers.
const PREFETCH_FROM_CACHE: usize = 4 << 10;
const PREFETCH_FROM_MEMORY: usize = 2 << 10;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Storage {
    F32,
    F16,
    I8,
}

impl Storage {
    pub(super) fn bytes(self) -> usize {
        match self {
            Storage::F32 => 4,
            Storage::F16 => 2,
            Storage::I8 => 1,
        }
    }
}

pub(super) enum Rows {
    F32(Segments<f32>),
    F16(Segments<F16>),
    I8 {
        values: Segments<i8>,
        scales: Vec<f32>,
    },
}

pub struct Index {
    pub(super) dim: usize,
    pub(super) metric: Metric,
    pub(super) rows: Rows,
    pub(super) ids: Vec<u64>,
}

impl std::fmt::Debug for Index {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Index")
            .field("dim", &self.dim)
            .field("metric", &self.metric)
            .field("storage", &self.storage())
            .field("len", &self.len())
            .finish()
    }
}

impl Index {
    pub fn new(dim: u32, metric: Metric, storage: Storage) -> Result<Self> {
        if dim == 0 || dim > MAX_DIM {
            return Err(Error::invalid(format!(
                "dimension {dim} is out of range (1 to {MAX_DIM})"
            )));
        }
        let rows = match storage {
            Storage::F32 => Rows::F32(Segments::new(dim as usize)),
            Storage::F16 => Rows::F16(Segments::new(dim as usize)),
            Storage::I8 => Rows::I8 {
                values: Segments::new(dim as usize),
                scales: Vec::new(),
            },
        };
        Ok(Index {
            dim: dim as usize,
            metric,
            rows,
            ids: Vec::new(),
        })
    }

    pub fn dim(&self) -> usize {
        self.dim
    }

    pub fn metric(&self) -> Metric {
        self.metric
    }

    pub fn storage(&self) -> Storage {
        match self.rows {
            Rows::F32(_) => Storage::F32,
            Rows::F16(_) => Storage::F16,
            Rows::I8 { .. } => Storage::I8,
        }
    }

    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Checks that `values` holds whole vectors of this dimension, all finite.
    pub fn check_vectors(&self, values: &[f32], what: &str) -> Result<usize> {
        check_shape(values.len(), self.dim, what)?;
        check_finite(values, self.dim)?;
        Ok(values.len() / self.dim)
    }

    /// Adds the vectors in `values` (row after row) under `ids`. Nothing is
    /// added when any of them is refused.
    ///
    /// One pass: each vector is checked, prepared and stored while it is in
    /// cache (a check of the whole input first read it from memory twice),
    /// and a refusal takes back what the call had stored.
    pub fn add(&mut self, values: &[f32], ids: &[u64]) -> Result<()> {
        check_shape(values.len(), self.dim, "the vectors")?;
        let n = values.len() / self.dim;
        reserve(&mut self.ids, n)?;
        let before = self.ids.len();
        let stored = self.append_rows(values);
        let stored = stored.and_then(|()| {
            if ids.len() == n {
                Ok(())
            } else {
                Err(Error::invalid(format!("{n} vectors but {} ids", ids.len())))
            }
        });
        if let Err(e) = stored {
            self.truncate(before);
            return Err(e);
        }
        self.ids.extend_from_slice(ids);
        Ok(())
    }

    /// Stores `values` (whole vectors) as rows, after the existing ones;
    /// stops at the first refused vector, leaving the rows before it.
    fn append_rows(&mut self, values: &[f32]) -> Result<()> {
        let (dim, metric) = (self.dim, self.metric);
        let check = |i: usize, chunk: &[f32]| match super::first_non_finite(chunk) {
            None => Ok(()),
            Some(j) => Err(super::non_finite(values, i * dim + j, dim)),
        };
        let n = values.len() / dim;
        let mut row = vec![0f32; dim];
        match &mut self.rows {
            Rows::F32(data) => {
                data.reserve(n)?;
                for (i, chunk) in values.chunks_exact(dim).enumerate() {
                    check(i, chunk)?;
                    data.push_row(|out| {
                        let start = out.len();
                        out.extend_from_slice(chunk);
                        normalize(metric, &mut out[start..]);
                        Ok(())
                    })?;
                }
            }
            Rows::F16(data) => {
                data.reserve(n)?;
                for (i, chunk) in values.chunks_exact(dim).enumerate() {
                    check(i, chunk)?;
                    prepare(metric, chunk, &mut row);
                    data.push_row(|out| {
                        for (j, &x) in row.iter().enumerate() {
                            out.push(F16::from_f32(x).ok_or_else(|| {
                                Error::invalid(format!(
                                    "vector {i} has a value ({x}) at position {j} beyond the range of f16 (65504)"
                                ))
                            })?);
                        }
                        Ok(())
                    })?;
                }
            }
            Rows::I8 {
                values: data,
                scales,
            } => {
                data.reserve(n)?;
                reserve(scales, n)?;
                for (i, chunk) in values.chunks_exact(dim).enumerate() {
                    check(i, chunk)?;
                    prepare(metric, chunk, &mut row);
                    data.push_row(|out| {
                        scales.push(quantize(&row, out));
                        Ok(())
                    })?;
                }
            }
        }
        Ok(())
    }

    /// Room for `n` more rows and their ids, or a limit error (never an
    /// abort) when memory runs out.
    pub(super) fn reserve(&mut self, n: usize) -> Result<()> {
        reserve(&mut self.ids, n)?;
        match &mut self.rows {
            Rows::F32(data) => data.reserve(n),
            Rows::F16(data) => data.reserve(n),
            Rows::I8 { values, scales } => {
                values.reserve(n)?;
                reserve(scales, n)
            }
        }
    }

    /// Keeps the first `len` rows (ids included) and drops the rest; none
    /// when it holds no more.
    pub fn truncate(&mut self, len: usize) {
        self.ids.truncate(len);
        match &mut self.rows {
            Rows::F32(data) => data.truncate(len),
            Rows::F16(data) => data.truncate(len),
            Rows::I8 {
                values: data,
                scales,
            } => {
                data.truncate(len);
                scales.truncate(len);
            }
        }
    }

    /// `v` as stored or searched: unit length for cosine.
    pub fn prepare(&self, v: &[f32], out: &mut [f32]) {
        prepare(self.metric, v, out)
    }

    /// The best `k` rows for `query`, best first (ties: smaller id first).
    pub fn search(&self, query: &[f32], k: usize) -> Result<Vec<Hit>> {
        Ok(self.search_batch(query, k)?.pop().unwrap_or_default())
    }

    /// `search` for each query in `queries` (row after row). The rows are
    /// taken a cache-sized block at a time and scored against every query
    /// while they are in cache: a batch reads the index from memory once.
    pub fn search_batch(&self, queries: &[f32], k: usize) -> Result<Vec<Vec<Hit>>> {
        let prepared = self.prepare_queries(queries, k)?;
        let best = self.best_of_rows(&prepared, k, 0..self.len());
        Ok(best.into_iter().map(TopK::into_sorted).collect())
    }

    /// `queries` checked (whole vectors, finite, k at least 1) and made
    /// ready for scoring: unit length for cosine.
    pub fn prepare_queries(&self, queries: &[f32], k: usize) -> Result<Vec<f32>> {
        if k == 0 {
            return Err(Error::invalid("k must be at least 1"));
        }
        self.check_vectors(queries, "the queries")?;
        let mut prepared = try_vec(queries.len())?;
        prepared.resize(queries.len(), 0.0);
        for (q, out) in queries
            .chunks_exact(self.dim)
            .zip(prepared.chunks_exact_mut(self.dim))
        {
            self.prepare(q, out);
        }
        Ok(prepared)
    }

    /// The best `k` of the rows `rows` for each query of `prepared` (from
    /// [`Index::prepare_queries`]). A caller may split the rows, search the
    /// parts on threads and [`TopK::merge`] the answers: the order is total,
    /// so the merged answer is the one a single pass gives.
    pub fn best_of_rows(&self, prepared: &[f32], k: usize, rows: Range<usize>) -> Vec<TopK> {
        let higher = self.metric.higher_is_better();
        let queries: Vec<&[f32]> = prepared.chunks_exact(self.dim).collect();
        let mut best: Vec<TopK> = queries.iter().map(|_| TopK::new(k, higher)).collect();
        let ids = &self.ids;
        self.for_each_score(&queries, rows, |q, r, score| best[q].push(ids[r], score));
        best
    }

    /// Calls `f(query, row, score)` for every row of `rows` against every
    /// one of the prepared `queries`, a cache-sized block of rows at a time
    /// (each block is scored against every query while it is in cache),
    /// queries in groups of `BATCH_QUERIES` (a row chunk, once loaded,
    /// serves the group).
    pub fn for_each_score(
        &self,
        queries: &[&[f32]],
        rows: Range<usize>,
        mut f: impl FnMut(usize, usize, f32),
    ) {
        // One query reads each row once: no block to keep in cache, and the
        // prefetch (`blocks`) runs on across what would be block edges.
        let block = if queries.len() > 1 {
            (BLOCK_BYTES / (self.dim * self.storage().bytes())).max(1)
        } else {
            rows.len().max(1)
        };
        let mut start = rows.start;
        while start < rows.end {
            let end = (start + block).min(rows.end);
            let mut groups = queries.chunks_exact(BATCH_QUERIES);
            let mut first = 0;
            for group in groups.by_ref() {
                let qs: [&[f32]; BATCH_QUERIES] = group.try_into().unwrap();
                self.score_rows(qs, start, end, &mut |q, r, score| f(first + q, r, score));
                first += BATCH_QUERIES;
            }
            for (i, q) in groups.remainder().iter().enumerate() {
                self.score_rows([*q], start, end, &mut |_, r, score| f(first + i, r, score));
            }
            start = end;
        }
    }

    /// Calls `f(query, row, score)` for rows `start..end` against each of
    /// the prepared queries `qs`.
    #[inline]
    fn score_rows<const Q: usize>(
        &self,
        qs: [&[f32]; Q],
        start: usize,
        end: usize,
        f: &mut impl FnMut(usize, usize, f32),
    ) {
        match &self.rows {
            Rows::F32(data) => self.scan_runs(data, None, qs, start, end, f),
            Rows::F16(data) => self.scan_runs(data, None, qs, start, end, f),
            Rows::I8 { values, scales } => self.scan_runs(values, Some(scales), qs, start, end, f),
        }
    }

    /// `scan_widest` over rows `start..end` of `data`, a run of rows (each in
    /// one segment) at a time; `scan` numbers rows from the run's first.
    #[inline(always)]
    fn scan_runs<T: Element + Copy, const Q: usize>(
        &self,
        data: &Segments<T>,
        scales: Option<&[f32]>,
        qs: [&[f32]; Q],
        start: usize,
        end: usize,
        f: &mut impl FnMut(usize, usize, f32),
    ) {
        for (first, run) in data.runs(start..end) {
            let n = run.len() / self.dim;
            let f = &mut |q, r, s| f(q, first + r, s);
            self.scan_widest(run, scales.map(|s| &s[first..first + n]), qs, 0, n, f);
        }
    }

    /// `scan` compiled for the SIMD level in use ([`super::simd`]): on
    /// x86_64, copies of it built for AVX2 and AVX-512, chosen at run time.
    #[inline(always)]
    fn scan_widest<T: Element, const Q: usize>(
        &self,
        data: &[T],
        scales: Option<&[f32]>,
        qs: [&[f32]; Q],
        start: usize,
        end: usize,
        f: &mut impl FnMut(usize, usize, f32),
    ) {
        #[cfg(target_arch = "x86_64")]
        match super::simd::level() {
            // SAFETY: `level()` is only ever a level this CPU runs.
            Level::Avx512 => return unsafe { self.scan_avx512(data, scales, qs, start, end, f) },
            Level::Avx2 => return unsafe { self.scan_avx2(data, scales, qs, start, end, f) },
            Level::Baseline => {}
        }
        // SAFETY: the portable kernel runs on every CPU of the target.
        unsafe { self.scan::<T, Q, Portable>(data, scales, qs, start, end, f) }
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,f16c")]
    fn scan_avx2<T: Element, const Q: usize>(
        &self,
        data: &[T],
        scales: Option<&[f32]>,
        qs: [&[f32]; Q],
        start: usize,
        end: usize,
        f: &mut impl FnMut(usize, usize, f32),
    ) {
        // SAFETY: this runs with AVX2 and F16C (its caller checked the CPU).
        unsafe { self.scan::<T, Q, Avx2>(data, scales, qs, start, end, f) }
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx2,f16c")]
    fn scan_avx512<T: Element, const Q: usize>(
        &self,
        data: &[T],
        scales: Option<&[f32]>,
        qs: [&[f32]; Q],
        start: usize,
        end: usize,
        f: &mut impl FnMut(usize, usize, f32),
    ) {
        // SAFETY: this runs with AVX-512F, AVX2 and F16C (its caller checked the CPU).
        unsafe { self.scan::<T, Q, Avx512>(data, scales, qs, start, end, f) }
    }

    /// # Safety
    /// The CPU runs the kernel `K`'s instructions.
    #[inline(always)]
    unsafe fn scan<T: Element, const Q: usize, K: Kernel>(
        &self,
        data: &[T],
        scales: Option<&[f32]>,
        qs: [&[f32]; Q],
        start: usize,
        end: usize,
        f: &mut impl FnMut(usize, usize, f32),
    ) {
        let d = self.dim;
        let row = |r: usize| &data[r * d..][..d];
        let scale = |r: usize| scales.map_or(1.0, |s| s[r]);
        let sq = |x: f32, y: f32| (x - y) * (x - y);
        match (self.metric, scales) {
            (Metric::L2, Some(s)) => {
                // The scale does not factor out of a distance: q - s*row, lane by lane.
                for (r, &sc) in s.iter().enumerate().take(end).skip(start) {
                    for (qi, q) in qs.iter().enumerate() {
                        let raw = reduce(q, row(r), |x, y| sq(x, sc * y));
                        f(qi, r, self.finish(raw));
                    }
                }
            }
            (metric, _) => {
                let emit =
                    &mut |qi: usize, r: usize, raw: f32| f(qi, r, self.finish(raw * scale(r)));
                // One query: `SINGLE_ROWS` rows a step, from as many streams.
                // Several: each row chunk serves the group of queries.
                let term = if metric == Metric::L2 {
                    Term::SquaredDifference
                } else {
                    Term::Product
                };
                let ahead = self.prefetch_bytes();
                // In wasm, one query against halves: the query times 2^112
                // once, rather than every half read (`Term::ScaledProduct`),
                // unless a value of it would overflow (|x| >= 2^16, dot only).
                #[cfg(target_arch = "wasm32")]
                let scaled = (Q == 1 && term == Term::Product && T::QUERY_SCALE != 1.0)
                    .then(|| prescale(qs[0], T::QUERY_SCALE))
                    .flatten();
                #[cfg(target_arch = "wasm32")]
                let (qs, term) = match &scaled {
                    Some(scaled) => ([&scaled[..]; Q], Term::ScaledProduct),
                    None => (qs, term),
                };
                // SAFETY: passed on from the caller.
                unsafe {
                    if Q == 1 {
                        blocks::<T, Q, SINGLE_ROWS, K>(row, qs, start, end, ahead, term, emit)
                    } else {
                        blocks::<T, Q, BATCH_ROWS, K>(row, qs, start, end, ahead, term, emit)
                    }
                }
            }
        }
    }

    /// `PREFETCH_FROM_MEMORY` when the index outgrows the last-level cache.
    fn prefetch_bytes(&self) -> usize {
        let bytes = self.len() * self.dim * self.storage().bytes();
        if bytes > super::simd::last_level_cache() {
            PREFETCH_FROM_MEMORY
        } else {
            PREFETCH_FROM_CACHE
        }
    }

    #[inline(always)]
    fn finish(&self, raw: f32) -> f32 {
        match self.metric {
            Metric::Cosine => raw.clamp(-1.0, 1.0),
            Metric::Dot => raw,
            Metric::L2 => raw.sqrt(),
        }
    }

    /// The index in the file format ([`super::format`]).
    pub fn to_bytes(&self) -> Vec<u8> {
        super::format::write(self)
    }

    /// An index from the file format, every field checked.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        super::format::read(bytes)
    }
}

/// `block` over rows `start..end`, calling `emit(query, row, raw score)`;
/// rows `prefetch` bytes ahead are asked for before they are scored.
///
/// A step scores R rows, one from each of R streams: the rows are cut into
/// R equal runs read side by side (then the few left over one at a time).
/// Each stream is sequential, so the hardware prefetchers follow every one
/// of them, and R of them keep more reads in flight than one stream of
/// adjacent rows does. One query on two threads, a second stream, measured
/// in a C model of this loop (AVX-512, prefetch as here): 1M x 384 f32 on
/// huge pages 53 -> 49.5 ms, 100k (in L3) 3.2 -> 2.9 ms; a third or fourth
/// gained nothing more. In the index, two streams and huge pages together
/// took 1M from 59-62 to 55-57 ms (`vector_bench.py --native-only --rows
/// 1000000`), huge pages alone 63.5 -> 60.4. Every row's score is its own
/// sum, in the same order, so the streams do not change a bit of it; the
/// top k does not depend on the order rows arrive in.
///
/// # Safety
/// The CPU runs the kernel `K`'s instructions.
#[inline(always)]
unsafe fn blocks<'a, T: Element + 'a, const Q: usize, const R: usize, K: Kernel>(
    row: impl Fn(usize) -> &'a [T],
    qs: [&[f32]; Q],
    start: usize,
    end: usize,
    prefetch: usize,
    term: Term,
    emit: &mut impl FnMut(usize, usize, f32),
) {
    let row_bytes = qs.first().map_or(0, |q| q.len()) * std::mem::size_of::<T>();
    let ahead = (prefetch / row_bytes.max(1)).max(1);
    let stream = (end - start) / R;
    for step in 0..stream {
        let rows: [usize; R] = std::array::from_fn(|s| start + s * stream + step);
        if step + ahead < stream {
            for r in rows {
                K::prefetch(row(r + ahead));
            }
        }
        let scores = K::block::<T, Q, R>(qs, rows.map(&row), term);
        for (qi, per_row) in scores.iter().enumerate() {
            for (&r, &s) in rows.iter().zip(per_row) {
                emit(qi, r, s);
            }
        }
    }
    for r in start + R * stream..end {
        let scores = K::block::<T, Q, 1>(qs, [row(r)], term);
        for (qi, s) in scores.iter().enumerate() {
            emit(qi, r, s[0]);
        }
    }
}

/// `q` times `scale` (a power of two), or None if a value would overflow:
/// every value that stays finite is exact.
#[cfg(target_arch = "wasm32")]
fn prescale(q: &[f32], scale: f32) -> Option<Vec<f32>> {
    q.iter()
        .map(|&x| Some(x * scale).filter(|y| y.is_finite()))
        .collect()
}

/// `v` as stored for `metric`: unit length for cosine (zero stays zero).
fn prepare(metric: Metric, v: &[f32], out: &mut [f32]) {
    out.copy_from_slice(v);
    normalize(metric, out);
}

/// `prepare` in place.
fn normalize(metric: Metric, v: &mut [f32]) {
    if metric == Metric::Cosine {
        let n = super::norm(v);
        if n > 0.0 {
            v.iter_mut().for_each(|x| *x /= n);
        }
    }
}

/// Appends `row` as i8 (its largest magnitude becomes 127) and returns the scale.
fn quantize(row: &[f32], out: &mut Vec<i8>) -> f32 {
    let peak = row.iter().fold(0f32, |m, x| m.max(x.abs()));
    if peak == 0.0 {
        out.extend(std::iter::repeat_n(0i8, row.len()));
        return 0.0;
    }
    let scale = peak / 127.0;
    out.extend(
        row.iter()
            .map(|&x| (x / scale).round().clamp(-127.0, 127.0) as i8),
    );
    scale
}

/// Pairwise scores of every vector of `a` against every vector of `b`
/// (row-major, `a`'s count rows of `b`'s count).
pub fn similarity(a: &[f32], b: &[f32], dim: usize, metric: Metric) -> Result<Vec<f32>> {
    let (na, nb) = similarity_shape(a, b, dim)?;
    let mut out = try_vec(na * nb)?;
    out.resize(na * nb, 0.0);
    similarity_each(a, b, dim, metric, |q, r, s| out[q * nb + r] = s)?;
    Ok(out)
}

/// The counts of `a` and `b` (whole vectors of `dim`), refused when the
/// matrix would be too large for memory: [`similarity`]'s checks of
/// everything but the values.
pub fn similarity_shape(a: &[f32], b: &[f32], dim: usize) -> Result<(usize, usize)> {
    Index::new(dim as u32, Metric::Dot, Storage::F32)?; // the dimension's range
    check_shape(a.len(), dim, "the first batch")?;
    check_shape(b.len(), dim, "the second batch")?;
    let (na, nb) = (a.len() / dim, b.len() / dim);
    if na
        .checked_mul(nb)
        .filter(|&c| c <= isize::MAX as usize / 4)
        .is_none()
    {
        return Err(Error::limit("the similarity matrix is too large"));
    }
    Ok((na, nb))
}

/// Every input check of [`similarity`], in its order, and nothing else: what
/// a caller that split `b` (the native module, over threads) reports when a
/// part was refused, so that the message names the value by its place in
/// the whole of `b`.
pub fn check_similarity(a: &[f32], b: &[f32], dim: usize) -> Result<()> {
    similarity_shape(a, b, dim)?;
    check_finite(a, dim)?;
    check_finite(b, dim)
}

/// [`similarity`]'s scores given to `cell(i, j, score)` (`i` in `a`, `j` in
/// `b`), for callers that put them elsewhere. `b` is taken a cache-sized
/// block at a time: checked, prepared (unit length for cosine) and scored
/// against every vector of `a` while it is in cache, and dropped. No copy of
/// `b` is ever made whole: a 16k x 384 copy was 25 MB of fresh memory a call,
/// and on these machines the page faults of fresh memory cost as much as the
/// arithmetic. On an error some cells may have been given.
pub fn similarity_each(
    a: &[f32],
    b: &[f32],
    dim: usize,
    metric: Metric,
    mut cell: impl FnMut(usize, usize, f32),
) -> Result<()> {
    let (_, nb) = similarity_shape(a, b, dim)?;
    let mut part = Index::new(dim as u32, metric, Storage::F32)?;
    let queries = part.prepare_queries(a, 1)?; // checks a's values, before b's
    let qs: Vec<&[f32]> = queries.chunks_exact(dim).collect();
    let block = (BLOCK_BYTES / (dim * 4)).max(1);
    let ids = vec![0u64; block.min(nb)];
    let mut start = 0;
    while start < nb {
        let end = (start + block).min(nb);
        let rows = &b[start * dim..end * dim];
        part.truncate(0);
        if let Err(e) = part.add(rows, &ids[..end - start]) {
            // `add` numbers vectors from the block's first: name the value
            // by its place in the whole of `b`.
            let j = super::first_non_finite(rows);
            return Err(j.map_or(e, |j| super::non_finite(b, start * dim + j, dim)));
        }
        // `+ 0.0` makes a -0.0 score 0.0, as every backend gives it.
        part.for_each_score(&qs, 0..end - start, |q, r, s| cell(q, start + r, s + 0.0));
        start = end;
    }
    Ok(())
}

fn check_shape(len: usize, dim: usize, what: &str) -> Result<()> {
    if !len.is_multiple_of(dim) {
        return Err(Error::invalid(format!(
            "{what} hold {len} values, not a multiple of the dimension {dim}"
        )));
    }
    Ok(())
}

fn try_vec<T>(n: usize) -> Result<Vec<T>> {
    let mut v = Vec::new();
    reserve(&mut v, n)?;
    Ok(v)
}

/// Grows `v` for `n` more items, or a limit error (never an abort) when
/// memory runs out.
pub(super) fn reserve<T>(v: &mut Vec<T>, n: usize) -> Result<()> {
    v.try_reserve(n).map_err(|_| {
        Error::limit(format!(
            "out of memory for {n} more values ({} bytes each)",
            std::mem::size_of::<T>()
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Scores in float64, as numpy would compute them on pre-normalized rows.
    fn reference(metric: Metric, q: &[f32], rows: &[Vec<f32>], k: usize) -> Vec<(u64, f64)> {
        let norm = |v: &[f32]| v.iter().map(|&x| x as f64 * x as f64).sum::<f64>().sqrt();
        let mut scored: Vec<(u64, f64)> = rows
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let d: f64 = q.iter().zip(r).map(|(&a, &b)| a as f64 * b as f64).sum();
                let s = match metric {
                    Metric::Dot => d,
                    Metric::Cosine => {
                        let n = norm(q) * norm(r);
                        if n == 0.0 {
                            0.0
                        } else {
                            d / n
                        }
                    }
                    Metric::L2 => q
                        .iter()
                        .zip(r)
                        .map(|(&a, &b)| (a as f64 - b as f64).powi(2))
                        .sum::<f64>()
                        .sqrt(),
                };
                (i as u64 * 10, s)
            })
            .collect();
        scored.sort_by(|a, b| {
            let o = if metric.higher_is_better() {
                b.1.total_cmp(&a.1)
            } else {
                a.1.total_cmp(&b.1)
            };
            o.then(a.0.cmp(&b.0))
        });
        scored.truncate(k);
        scored
    }

    fn index_of(rows: &[Vec<f32>], metric: Metric, storage: Storage) -> Index {
        let dim = rows[0].len() as u32;
        let mut index = Index::new(dim, metric, storage).unwrap();
        let flat: Vec<f32> = rows.concat();
        let ids: Vec<u64> = (0..rows.len() as u64).map(|i| i * 10).collect();
        index.add(&flat, &ids).unwrap();
        index
    }

    /// Random rows plus a zero vector and a duplicate.
    fn rows_strategy() -> impl Strategy<Value = (Vec<Vec<f32>>, Vec<f32>)> {
        (1usize..40).prop_flat_map(|dim| {
            (
                proptest::collection::vec(proptest::collection::vec(-1.0f32..1.0, dim), 1..40),
                proptest::collection::vec(-1.0f32..1.0, dim),
            )
                .prop_map(|(mut rows, q)| {
                    let dim = q.len();
                    rows.push(vec![0.0; dim]);
                    rows.push(rows[0].clone());
                    (rows, q)
                })
        })
    }

    proptest! {
        #[test]
        fn f32_top_k_matches_a_float64_reference((rows, q) in rows_strategy(), k in 1usize..50) {
            for metric in [Metric::Cosine, Metric::Dot, Metric::L2] {
                let index = index_of(&rows, metric, Storage::F32);
                let got = index.search(&q, k).unwrap();
                let want = reference(metric, &q, &rows, k);
                prop_assert_eq!(got.len(), want.len().min(k));
                for (g, w) in got.iter().zip(&want) {
                    prop_assert!((g.score as f64 - w.1).abs() <= 1e-5 * w.1.abs() + 1e-6, "{:?}: {} vs {}", metric, g.score, w.1);
                }
                // Ids agree wherever the reference's scores are not within
                // f32 rounding of a neighbour's (a near-tie may go either way).
                let gap = |i: usize| want.get(i + 1).is_none_or(|n| (n.1 - want[i].1).abs() > 1e-5)
                    && (i == 0 || (want[i - 1].1 - want[i].1).abs() > 1e-5);
                for (i, (g, w)) in got.iter().zip(&want).enumerate() {
                    if gap(i) {
                        prop_assert_eq!(g.id, w.0, "{:?} rank {}", metric, i);
                    }
                }
                // A batch (a group of four, then the rest one by one) gives
                // exactly what single searches give.
                let last = rows.last().unwrap();
                let batch_queries = [&q, &rows[0], &q, last, &rows[1], &q];
                let batch = index.search_batch(&batch_queries.map(|v| v.as_slice()).concat(), k).unwrap();
                for (b, v) in batch.iter().zip(batch_queries) {
                    prop_assert_eq!(b, &index.search(v, k).unwrap());
                }
            }
        }
    }

    #[test]
    fn zero_vectors_duplicates_and_k_beyond_the_index() {
        let rows = vec![
            vec![1.0, 0.0],
            vec![0.0, 0.0],
            vec![1.0, 0.0],
            vec![0.0, 1.0],
        ];
        let index = index_of(&rows, Metric::Cosine, Storage::F32);
        let hits = index.search(&[2.0, 0.0], 10).unwrap();
        let ids: Vec<u64> = hits.iter().map(|h| h.id).collect();
        // Duplicates tie and go by id; the zero vector scores 0, as does the orthogonal one.
        assert_eq!(ids, [0, 20, 10, 30]);
        assert_eq!(hits[2].score, 0.0);
        let zero_query = index.search(&[0.0, 0.0], 2).unwrap();
        assert_eq!(
            zero_query
                .iter()
                .map(|h| (h.id, h.score))
                .collect::<Vec<_>>(),
            [(0, 0.0), (10, 0.0)]
        );
    }

    #[test]
    fn refuses_bad_input_and_adds_nothing() {
        let mut index = Index::new(3, Metric::Dot, Storage::F16).unwrap();
        assert!(index
            .add(&[1.0, 2.0], &[0])
            .unwrap_err()
            .message
            .contains("multiple of the dimension 3"));
        assert!(index
            .add(&[1.0, 2.0, f32::NAN], &[0])
            .unwrap_err()
            .message
            .contains("non-finite"));
        assert!(index
            .add(&[1.0, 2.0, 3.0, 1.0, 1e6, 1.0], &[0, 1])
            .unwrap_err()
            .message
            .contains("range of f16"));
        assert!(index
            .add(&[1.0, 2.0, 3.0], &[0, 1])
            .unwrap_err()
            .message
            .contains("1 vectors but 2 ids"));
        assert_eq!(index.len(), 0);
        index.add(&[1.0, 2.0, 3.0], &[7]).unwrap();
        assert!(index.search(&[1.0, 2.0], 1).is_err());
        assert!(index
            .search(&[1.0, 2.0, 3.0], 0)
            .unwrap_err()
            .message
            .contains("k must be"));
        assert!(Index::new(0, Metric::Dot, Storage::F32).is_err());
    }

    #[test]
    fn a_refused_add_leaves_the_index_as_it_was() {
        for storage in [Storage::F32, Storage::F16, Storage::I8] {
            let mut index = Index::new(3, Metric::Cosine, storage).unwrap();
            index.add(&[1.0, 2.0, 3.0, 0.0, 0.0, 1.0], &[4, 9]).unwrap();
            let before = index.to_bytes();
            // The bad value is in the third vector: two were stored, then taken back.
            let e = index
                .add(
                    &[1.0, 1.0, 1.0, 2.0, 2.0, 2.0, 3.0, f32::INFINITY, 3.0],
                    &[1, 2, 3],
                )
                .unwrap_err();
            assert_eq!(
                e.message,
                "vector 2 has a non-finite value (inf) at position 1"
            );
            let e = index.add(&[1.0, 1.0, 1.0], &[1, 2]).unwrap_err();
            assert_eq!(e.message, "1 vectors but 2 ids");
            assert_eq!(index.to_bytes(), before, "{storage:?}");
            index.add(&[5.0, 5.0, 5.0], &[1]).unwrap();
            assert_eq!(index.len(), 3);
        }
    }

    #[test]
    fn truncation_takes_back_later_adds_whole() {
        for storage in [Storage::F32, Storage::F16, Storage::I8] {
            let mut index = Index::new(3, Metric::Cosine, storage).unwrap();
            index.add(&[1.0, 2.0, 3.0, 0.0, 0.0, 1.0], &[4, 9]).unwrap();
            let before = index.to_bytes();
            index.add(&[1.0, 1.0, 1.0, 2.0, 0.0, 2.0], &[1, 2]).unwrap();
            index.truncate(usize::MAX); // holds no more: nothing dropped
            index.truncate(5);
            assert_eq!(index.len(), 4, "{storage:?}");
            index.truncate(2);
            assert_eq!(index.to_bytes(), before, "{storage:?}");
            let hits = index.search(&[1.0, 1.0, 1.0], 10).unwrap();
            assert_eq!(hits.iter().map(|h| h.id).collect::<Vec<_>>(), [4, 9]);
            index.add(&[5.0, 5.0, 5.0], &[1]).unwrap();
            assert_eq!(index.len(), 3);
            index.truncate(0);
            assert_eq!(index.len(), 0);
            assert!(index.search(&[1.0, 1.0, 1.0], 10).unwrap().is_empty());
        }
    }

    #[test]
    fn quantized_storage_stays_close() {
        let rows: Vec<Vec<f32>> = (0..50)
            .map(|i| {
                (0..16)
                    .map(|j| ((i * 7 + j * 13) % 17) as f32 - 8.0)
                    .collect()
            })
            .collect();
        for metric in [Metric::Cosine, Metric::Dot, Metric::L2] {
            let exact = index_of(&rows, metric, Storage::F32);
            for storage in [Storage::F16, Storage::I8] {
                let index = index_of(&rows, metric, storage);
                for q in &rows[..5] {
                    let (a, b) = (exact.search(q, 3).unwrap(), index.search(q, 3).unwrap());
                    // The error scales with the query: |q|^2 for dot, |q| for L2.
                    let n = super::super::norm(q);
                    let scale = match metric {
                        Metric::Cosine => 1.0,
                        Metric::Dot => n * n,
                        Metric::L2 => n,
                    };
                    assert!(
                        (a[0].score - b[0].score).abs() <= 0.01 * scale,
                        "{metric:?} {storage:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn similarity_is_every_pair() {
        let a = [1.0, 0.0, 0.0, 2.0];
        let b = [3.0, 0.0, 0.0, 0.0, 1.0, 1.0];
        let m = similarity(&a, &b, 2, Metric::Cosine).unwrap();
        let h = std::f32::consts::FRAC_1_SQRT_2;
        assert_eq!(m.len(), 6);
        for (x, y) in m.iter().zip([1.0, 0.0, h, 0.0, 0.0, h]) {
            assert!((x - y).abs() < 1e-6);
        }
        assert!(similarity(&a, &b[..5], 2, Metric::Dot).is_err());
    }
}
