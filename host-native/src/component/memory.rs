//! The guest's linear memory, where transparent huge pages can back it.
//!
//! Wasmtime maps linear memory itself and never asks for huge pages, so on a
//! kernel whose THP setting is `madvise` (the default of many distributions,
//! and of the machines this was measured on) it lives on 4 KiB pages. Random
//! reads over a large buffer then miss the TLB at almost every access: the
//! VCDIFF matcher's hash tables and chains over an 8 MiB source, and a
//! vector scan over 150 MB of rows. Measured on the Rust host (THP switched
//! to `always` as a stand-in for this module): the 8 MiB encode 27.7 ->
//! 21.8 ms, one query over 100k x 384 f32 on one thread 18.3 -> 12.9 ms.
//!
//! [`HugePageMemory`] makes the same mapping wasmtime would (the whole
//! reservation and its guard, inaccessible; the accessible part grown with
//! `mprotect`) aligned to 2 MiB and marked `MADV_HUGEPAGE`. The advice is
//! only a hint: where THP is `never`, or the kernel has no huge page to
//! give, memory is what it was. Linux only (where the advice exists).

use std::io;
use std::ptr::NonNull;

use wasmtime::{LinearMemory, MemoryCreator, MemoryType};

/// The huge page size of x86-64 and aarch64 (4 KiB granules): the
/// alignment that lets a THP back the memory from its first byte.
const HUGE_PAGE: usize = 2 << 20;
/// The most a 32-bit linear memory can hold: the reservation when wasmtime
/// leaves it to us.
const MAX_32BIT: usize = 4 << 30;

/// Makes [`Mapping`]s: give it to `Config::with_host_memory`.
pub struct HugePageMemory;

// SAFETY: each memory is a fresh private mapping of its own, zero-filled,
// with `guard` bytes (and the rest of the reservation) inaccessible past
// the accessible part, and a base that never moves (wasmtime's contract).
unsafe impl MemoryCreator for HugePageMemory {
    fn new_memory(
        &self,
        _ty: MemoryType,
        minimum: usize,
        maximum: Option<usize>,
        reserved: Option<usize>,
        guard: usize,
    ) -> Result<Box<dyn LinearMemory>, String> {
        let reserved = reserved.unwrap_or(maximum.unwrap_or(MAX_32BIT));
        let mut memory = Mapping::reserve(reserved, guard)
            .map_err(|e| format!("cannot reserve {reserved} bytes for linear memory: {e}"))?;
        memory
            .grow_to(minimum)
            .map_err(|e| format!("cannot map {minimum} bytes of linear memory: {e}"))?;
        Ok(Box::new(memory))
    }
}

/// One linear memory: `capacity` bytes that may become accessible, then
/// the guard, all inaccessible until grown into.
pub struct Mapping {
    base: NonNull<u8>,
    /// Bytes the guest can use now.
    size: usize,
    /// Bytes it may grow to without the base moving.
    capacity: usize,
    /// Bytes mapped from `base`: the capacity and the guard.
    mapped: usize,
}

// SAFETY: the mapping is owned by this value alone; wasmtime serializes
// access to it through its store.
unsafe impl Send for Mapping {}
unsafe impl Sync for Mapping {}

impl Mapping {
    fn reserve(capacity: usize, guard: usize) -> io::Result<Mapping> {
        let page = page_size();
        let capacity = round_up(capacity, page)?;
        let mapped = capacity
            .checked_add(round_up(guard, page)?)
            .ok_or_else(too_large)?;
        // Reserve a huge page more, then unmap what lies before the first
        // aligned address and after the end.
        let slack = mapped.checked_add(HUGE_PAGE).ok_or_else(too_large)?;
        // SAFETY: a new private anonymous mapping, touching nothing else.
        let start = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                slack,
                libc::PROT_NONE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if start == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let start = start as usize;
        let base = round_up(start, HUGE_PAGE)?;
        let (before, after) = (base - start, start + slack - (base + mapped));
        // SAFETY: both ranges lie within the mapping just made, outside
        // [base, base + mapped).
        unsafe {
            if before > 0 {
                libc::munmap(start as *mut libc::c_void, before);
            }
            if after > 0 {
                libc::munmap((base + mapped) as *mut libc::c_void, after);
            }
            // A hint: an error (no THP in this kernel) changes nothing.
            libc::madvise(base as *mut libc::c_void, capacity, libc::MADV_HUGEPAGE);
        }
        Ok(Mapping {
            base: NonNull::new(base as *mut u8).ok_or_else(too_large)?,
            size: 0,
            capacity,
            mapped,
        })
    }

    /// After growing from `from` to `to` bytes: the huge page that held the
    /// old end, now accessible whole, is asked to become one huge page.
    ///
    /// While the end of the accessible part lay inside it, the kernel could
    /// only back its accessible part with 4 KiB pages (a huge page must lie
    /// in one mapping of one protection), and the memory keeps them after
    /// the growth. An index grows its memory a segment of rows at a time,
    /// so every 16 MiB of rows began with 2 MiB on small pages: 10 of the
    /// 75 MiB of rows of a 50k x 384 shard (`/proc/self/pagemap`). Measured
    /// with the collapse, side by side in one process: one query over 100k
    /// x 384 on two threads 3-6% faster. A collapse took 0.5-6 ms here
    /// (`strace -T`: the kernel finds a huge page, compacting if it must,
    /// and copies), once per growth past such a page; so a memory smaller
    /// than `COLLAPSE_FROM` grown by less than `COLLAPSE_GROWTH` is left as
    /// it is: the first 8 MiB delta encode of a process paid five of them,
    /// 23 ms of its 114. A hint like the advice: a kernel before 6.1 has no
    /// `MADV_COLLAPSE`, and one without a free huge page refuses it.
    fn collapse_boundary(&self, from: usize, to: usize) {
        let start = from - from % HUGE_PAGE;
        if start == from || start + HUGE_PAGE > to {
            return; // the old end was aligned, or its huge page is still partly inaccessible
        }
        if to < COLLAPSE_FROM && to - from < COLLAPSE_GROWTH {
            return; // a small memory grown a little
        }
        // SAFETY: [start, start + HUGE_PAGE) lies within the accessible part
        // (start + HUGE_PAGE <= to); the advice does not change its contents.
        unsafe {
            libc::madvise(
                self.base.as_ptr().add(start).cast(),
                HUGE_PAGE,
                MADV_COLLAPSE,
            )
        };
    }
}

/// The size from which a growth collapses the huge page at the old end
/// (`Mapping::collapse_boundary`). The memory of a typical document or
/// delta call stays below, where a few 4 KiB pages cost little.
const COLLAPSE_FROM: usize = 64 << 20;
/// A growth this large collapses it in a smaller memory too: a vector
/// shard grows by a segment of rows (16 MiB, less what the allocator had
/// free at the top) at a time, from its first part on, and a scan reads
/// all of them; an 8 MiB document's call grows by 8 MiB at most. Measured,
/// 200k x 384 f32 added in 16 MiB parts to two shards: without it 5 of
/// each shard's 163 MiB stayed on 4 KiB pages and one query took 11.3-11.9
/// ms, against 10.7-11.1 with the memory all on huge pages.
const COLLAPSE_GROWTH: usize = 12 << 20;

/// `libc::MADV_COLLAPSE`, which the libc crate defines for glibc targets only.
const MADV_COLLAPSE: libc::c_int = 25;

// SAFETY: `as_ptr` never moves, `byte_capacity` bytes can become
// accessible from it, and exactly `byte_size` are (`grow_to`).
unsafe impl LinearMemory for Mapping {
    fn byte_size(&self) -> usize {
        self.size
    }

    fn byte_capacity(&self) -> usize {
        self.capacity
    }

    fn grow_to(&mut self, new_size: usize) -> wasmtime::Result<()> {
        if new_size > self.capacity {
            wasmtime::bail!(
                "linear memory of {new_size} bytes exceeds its reservation of {}",
                self.capacity
            );
        }
        let page = page_size();
        let (from, to) = (round_up(self.size, page)?, round_up(new_size, page)?);
        if to > from {
            // SAFETY: [from, to) lies within the reservation (to <= capacity,
            // a multiple of the page size).
            let done = unsafe {
                libc::mprotect(
                    self.base.as_ptr().add(from).cast(),
                    to - from,
                    libc::PROT_READ | libc::PROT_WRITE,
                )
            };
            if done != 0 {
                return Err(io::Error::last_os_error().into());
            }
            self.collapse_boundary(from, to);
        }
        self.size = self.size.max(new_size);
        Ok(())
    }

    fn as_ptr(&self) -> *mut u8 {
        self.base.as_ptr()
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: exactly the range `reserve` kept; nothing points into it
        // once wasmtime drops the memory.
        unsafe { libc::munmap(self.base.as_ptr().cast(), self.mapped) };
    }
}

fn page_size() -> usize {
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    usize::try_from(page).unwrap_or(4096)
}

fn round_up(n: usize, to: usize) -> io::Result<usize> {
    n.checked_next_multiple_of(to).ok_or_else(too_large)
}

fn too_large() -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, "size out of range")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_in_place_zeroed_aligned_and_refuses_past_its_reservation() {
        let mut m = Mapping::reserve(64 << 20, 32 << 20).unwrap();
        assert_eq!(m.as_ptr() as usize % HUGE_PAGE, 0);
        assert_eq!((m.byte_size(), m.byte_capacity()), (0, 64 << 20));
        m.grow_to(65536).unwrap();
        let base = m.as_ptr();
        m.grow_to(10 << 20).unwrap();
        assert_eq!((m.as_ptr(), m.byte_size()), (base, 10 << 20));
        // SAFETY: 10 MiB are accessible now.
        let bytes = unsafe { std::slice::from_raw_parts_mut(base, 10 << 20) };
        assert!(bytes.iter().all(|&b| b == 0));
        bytes[(10 << 20) - 1] = 7;
        assert!(m.grow_to((64 << 20) + 1).is_err());
        assert_eq!(m.byte_size(), 10 << 20);
    }

    #[test]
    fn a_growth_past_a_part_used_huge_page_keeps_its_bytes() {
        // The old end in the middle of a huge page, its bytes written, then
        // a growth that makes that huge page whole: `collapse_boundary`
        // asks the kernel to copy it into one huge page.
        let mut m = Mapping::reserve(128 << 20, 32 << 20).unwrap();
        let old_end = COLLAPSE_FROM + HUGE_PAGE / 2 + 4096;
        let new_end = COLLAPSE_FROM + 3 * HUGE_PAGE;
        m.grow_to(old_end).unwrap();
        // SAFETY: `old_end` bytes are accessible.
        let before = unsafe { std::slice::from_raw_parts_mut(m.as_ptr(), old_end) };
        for (i, b) in before.iter_mut().enumerate() {
            *b = (i % 251) as u8;
        }
        m.grow_to(new_end).unwrap();
        // SAFETY: `new_end` bytes are accessible now.
        let after = unsafe { std::slice::from_raw_parts(m.as_ptr(), new_end) };
        assert!(after[..old_end]
            .iter()
            .enumerate()
            .all(|(i, &b)| b == (i % 251) as u8));
        assert!(after[old_end..].iter().all(|&b| b == 0));
    }
}
