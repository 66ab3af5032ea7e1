//! The stored rows of an index, in segments of a fixed number of rows.
//!
//! Why not one `Vec`: a growing `Vec` doubles, copying every row into a
//! buffer twice the size while the old one is still held. In wasm that high
//! water mark is permanent (linear memory never shrinks): a million 384-wide
//! f32 rows added 100k at a time outgrew a 2 GiB instance in two shards of
//! 732 MB each. Segments are allocated once, at their final size, and
//! never move; an index costs its rows plus at most one part-filled segment.

use crate::{Error, Result};
use std::ops::Range;

/// Bytes of one segment (rounded down to whole rows, at least one row).
const SEGMENT_BYTES: usize = 16 << 20;

pub struct Segments<T> {
    dim: usize,
    /// Values (not rows) per segment: whole rows.
    per: usize,
    /// Full segments, then at most one part-filled one, then empty ones
    /// allocated ahead by `reserve`.
    parts: Vec<Vec<T>>,
    /// Values stored.
    len: usize,
}

impl<T: Copy> Segments<T> {
    pub fn new(dim: usize) -> Self {
        let row_bytes = dim * std::mem::size_of::<T>();
        let rows = (SEGMENT_BYTES / row_bytes.max(1)).max(1);
        Segments {
            dim,
            per: rows * dim,
            parts: Vec::new(),
            len: 0,
        }
    }

    /// Rows stored (the index counts its ids).
    #[cfg(test)]
    pub fn rows(&self) -> usize {
        self.len / self.dim
    }

    /// Row `r`.
    #[inline]
    pub fn row(&self, r: usize) -> &[T] {
        let at = r * self.dim;
        &self.parts[at / self.per][at % self.per..][..self.dim]
    }

    /// The rows `rows` as runs of consecutive rows, each within one segment:
    /// `(first row, its values)`.
    pub fn runs(&self, rows: Range<usize>) -> impl Iterator<Item = (usize, &[T])> + '_ {
        let per_rows = self.per / self.dim;
        let mut r = rows.start;
        std::iter::from_fn(move || {
            if r >= rows.end {
                return None;
            }
            let (segment, first) = (r / per_rows, r % per_rows);
            let n = (per_rows - first).min(rows.end - r);
            let values = &self.parts[segment][first * self.dim..][..n * self.dim];
            let run = (r, values);
            r += n;
            Some(run)
        })
    }

    /// Allocates room for `n` more rows now, so that storing them cannot
    /// fail half-way; an error, never an abort, when memory runs out. A
    /// segment is only as large as its rows need (a few rows must fit a
    /// small instance), growing as a `Vec` does up to its full size.
    pub fn reserve(&mut self, n: usize) -> Result<()> {
        let needed = n
            .checked_mul(self.dim)
            .and_then(|v| v.checked_add(self.len))
            .ok_or_else(|| Error::limit("too many vectors"))?;
        let mut s = self.len / self.per;
        while s * self.per < needed {
            let want = self.per.min(needed - s * self.per);
            if s == self.parts.len() {
                self.parts.push(Vec::new());
            }
            let part = &mut self.parts[s];
            if part.capacity() < want {
                let size = want.max(self.per.min(2 * part.capacity()));
                part.try_reserve_exact(size - part.len()).map_err(|_| {
                    Error::limit(format!(
                        "out of memory for {size} values ({} bytes each)",
                        std::mem::size_of::<T>()
                    ))
                })?;
                advise_huge_pages(part);
            }
            s += 1;
        }
        Ok(())
    }

    /// Appends one row, written by `fill` (which must push `dim` values
    /// into the vector it is given, unless it fails). Room must have been
    /// reserved. On an error the row is not kept.
    pub fn push_row(&mut self, fill: impl FnOnce(&mut Vec<T>) -> Result<()>) -> Result<()> {
        let part = &mut self.parts[self.len / self.per];
        let start = part.len();
        let filled = fill(part);
        if filled.is_err() {
            part.truncate(start);
        } else {
            assert_eq!(part.len(), start + self.dim, "a row of the wrong length");
            self.len += self.dim;
        }
        filled
    }

    /// Keeps the first `rows` rows; segments no longer needed are freed.
    pub fn truncate(&mut self, rows: usize) {
        let len = rows.saturating_mul(self.dim).min(self.len);
        let kept = len.div_ceil(self.per);
        self.parts.truncate(kept);
        if let Some(last) = self.parts.last_mut() {
            last.truncate(len - (kept - 1) * self.per);
        }
        self.len = len;
    }
}

/// Asks Linux to back the whole 2 MiB pages within `v`'s allocation with
/// transparent huge pages. A scan reads every row, and on 4 KiB pages the
/// hardware prefetchers stop at each page's end and the TLB misses at each
/// new one: natively, one query over 1M x 384 f32 on two threads, median
/// of 30, 63.3-63.6 ms on 4 KiB pages (THP `never`), 60.4 on huge ones,
/// alternated (numpy asks the same for its arrays). The advice only sets a
/// flag on the mapping (it moves no data, and a kernel without huge pages
/// refuses it, harmlessly). In wasm the host maps linear memory, and asks
/// there.
///
/// The price is the first touch. On the VM these numbers come from, adding
/// 1M such vectors in a fresh process (`benches/vector_memory.py`,
/// generation included) took 8.6-8.8 s on huge pages against 5.4 on 4 KiB
/// ones, with no compaction stall in `/proc/vmstat`: the time is the kernel
/// zeroing fresh 2 MiB pages (`clear_page_erms`), most likely slow because
/// the hypervisor backs them as they are first touched. Adding 100k in the
/// benchmark did not change (0.54 us a vector).
#[cfg(target_os = "linux")]
fn advise_huge_pages<T>(v: &Vec<T>) {
    const HUGE: usize = 2 << 20;
    let start = v.as_ptr() as usize;
    let end = start + v.capacity() * std::mem::size_of::<T>();
    let (from, to) = (start.next_multiple_of(HUGE), end / HUGE * HUGE);
    if from < to {
        // SAFETY: the range lies within `v`'s allocation, which this
        // segment owns; MADV_HUGEPAGE changes no byte of it.
        unsafe { libc::madvise(from as *mut libc::c_void, to - from, libc::MADV_HUGEPAGE) };
    }
}

#[cfg(not(target_os = "linux"))]
fn advise_huge_pages<T>(_: &Vec<T>) {}

#[cfg(test)]
mod tests {
    use super::*;

    fn filled(dim: usize, rows: usize) -> Segments<u32> {
        let mut s = Segments::new(dim);
        s.reserve(rows).unwrap();
        for r in 0..rows {
            s.push_row(|v| {
                v.extend((0..dim).map(|i| (r * dim + i) as u32));
                Ok(())
            })
            .unwrap();
        }
        s
    }

    #[test]
    fn rows_cross_segments_in_order() {
        // 16 MiB a segment: rows of 3 u32 (12 bytes) fill one with
        // 1398101 rows, so these span three segments.
        let dim = 3;
        let rows = 3_000_000;
        let s = filled(dim, rows);
        assert_eq!(s.rows(), rows);
        assert!(s.parts.len() >= 3);
        for r in [0, 1, 1_398_100, 1_398_101, rows - 1] {
            assert_eq!(
                s.row(r),
                &[3 * r as u32, 3 * r as u32 + 1, 3 * r as u32 + 2]
            );
        }
        let mut next = 5;
        for (first, values) in s.runs(5..rows - 2) {
            assert_eq!(first, next);
            assert_eq!(values[0], (3 * first) as u32);
            next += values.len() / dim;
        }
        assert_eq!(next, rows - 2);
    }

    #[test]
    fn segments_are_as_large_as_their_rows_need() {
        let mut s = filled(4, 3);
        assert_eq!(s.parts[0].capacity(), 12);
        s.reserve(1).unwrap();
        assert_eq!(s.parts[0].capacity(), 24, "grows as a Vec does");
        let per = s.per;
        s.reserve(per / 4 * 2).unwrap();
        assert_eq!(s.parts.len(), 3);
        assert_eq!(s.parts[0].capacity(), per, "never beyond a segment");
        assert_eq!(s.parts[1].capacity(), per);
        assert_eq!(s.parts[2].capacity(), 3 * 4, "the rows beyond two segments");
    }

    #[test]
    fn a_failed_row_and_truncation_keep_what_came_before() {
        let mut s = filled(5, 10);
        s.reserve(1).unwrap();
        let e = s.push_row(|v| {
            v.extend([1, 2]);
            Err(Error::invalid("refused"))
        });
        assert_eq!(e.unwrap_err().message, "refused");
        assert_eq!(s.rows(), 10);
        s.truncate(4);
        assert_eq!(s.rows(), 4);
        assert_eq!(s.row(3), &[15, 16, 17, 18, 19]);
        s.reserve(1).unwrap();
        s.push_row(|v| {
            v.extend([9; 5]);
            Ok(())
        })
        .unwrap();
        assert_eq!(s.row(4), &[9; 5]);
        s.truncate(0);
        assert!(s.parts.is_empty());
    }
}
