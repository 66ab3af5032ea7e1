//! VCDIFF through the xdelta3 C library, in memory.
//!
//! The `xdelta3` crate builds the library; we call its two memory functions
//! ourselves, because the crate's wrappers pass no flags (so its deltas carry
//! no Adler-32 checksum, and a damaged delta would decode to wrong bytes
//! silently), guess one fixed output size, and drop the error code.

use crate::{Error, ErrorKind, Result};
use std::ffi::{c_char, c_int, c_uint, CStr};

// Linked from the static library the crate builds.
extern crate xdelta3 as _;

extern "C" {
    fn xd3_encode_memory(
        input: *const u8,
        input_size: c_uint,
        source: *const u8,
        source_size: c_uint,
        output: *mut u8,
        output_size: *mut c_uint,
        avail_output: c_uint,
        flags: c_int,
    ) -> c_int;
    fn xd3_decode_memory(
        input: *const u8,
        input_size: c_uint,
        source: *const u8,
        source_size: c_uint,
        output: *mut u8,
        output_size: *mut c_uint,
        avail_output: c_uint,
        flags: c_int,
    ) -> c_int;
    fn xd3_strerror(ret: c_int) -> *const c_char;
}

/// `XD3_ADLER32` in xdelta3.h: write a checksum of every window.
const XD3_ADLER32: c_int = 1 << 10;
const ENOSPC: c_int = 28;
/// The library's sizes are 32-bit.
const MAX_SIZE: u64 = u32::MAX as u64;

type MemoryFn = unsafe extern "C" fn(
    *const u8,
    c_uint,
    *const u8,
    c_uint,
    *mut u8,
    *mut c_uint,
    c_uint,
    c_int,
) -> c_int;

fn strerror(ret: c_int) -> String {
    // SAFETY: xd3_strerror returns a static string for any code.
    let s = unsafe { xd3_strerror(ret) };
    if s.is_null() {
        format!("error {ret}")
    } else {
        unsafe { CStr::from_ptr(s) }.to_string_lossy().into_owned()
    }
}

/// Runs `f` with an output buffer of `size` bytes; `Err(ENOSPC)` when it is too small.
fn run(
    f: MemoryFn,
    input: &[u8],
    source: &[u8],
    size: u64,
    flags: c_int,
) -> std::result::Result<Vec<u8>, c_int> {
    let mut out = Vec::<u8>::with_capacity(size as usize);
    let mut written: c_uint = 0;
    // SAFETY: both inputs are valid for their lengths (checked < 4 GiB), the
    // output has `size` bytes of capacity, and the library writes at most
    // `avail_output` bytes and reports how many in `written`.
    let ret = unsafe {
        f(
            input.as_ptr(),
            input.len() as c_uint,
            source.as_ptr(),
            source.len() as c_uint,
            out.as_mut_ptr(),
            &mut written,
            size as c_uint,
            flags,
        )
    };
    if ret != 0 {
        return Err(ret);
    }
    // SAFETY: the library initialized `written` <= `size` bytes.
    unsafe { out.set_len(written as usize) };
    Ok(out)
}

/// Tries growing output sizes up to `cap`; `Err(ENOSPC)` when even `cap` is too small.
fn run_growing(
    f: MemoryFn,
    input: &[u8],
    source: &[u8],
    first: u64,
    cap: u64,
    flags: c_int,
) -> std::result::Result<Vec<u8>, c_int> {
    let mut size = first.min(cap);
    loop {
        match run(f, input, source, size, flags) {
            Err(ENOSPC) if size < cap => size = size.saturating_mul(4).min(cap),
            other => return other,
        }
    }
}

fn check_sizes(a: &[u8], b: &[u8]) -> Result<()> {
    if a.len() as u64 >= MAX_SIZE || b.len() as u64 >= MAX_SIZE {
        return Err(Error::new(
            ErrorKind::Argument,
            "the xdelta3 library takes inputs under 4 GiB; use method='vcdiff' or 'zstd'",
        ));
    }
    Ok(())
}

/// A VCDIFF delta from `old` to `new` by the xdelta3 library, with window checksums.
pub fn encode(old: &[u8], new: &[u8]) -> Result<Vec<u8>> {
    check_sizes(old, new)?;
    // A delta is at most the new version as literals plus per-window headers.
    let first = new.len() as u64 / 4 + 4096;
    let cap = (new.len() as u64 + new.len() as u64 / 8 + 65_536).min(MAX_SIZE);
    run_growing(xd3_encode_memory, new, old, first, cap, XD3_ADLER32).map_err(|ret| {
        Error::new(
            ErrorKind::Internal,
            format!("the xdelta3 library failed to encode: {}", strerror(ret)),
        )
    })
}

/// The new version from `old` and a VCDIFF `delta`, by the xdelta3 library,
/// never more than `max_output` bytes; checksums in the delta are verified.
pub fn decode(old: &[u8], delta: &[u8], max_output: u64) -> Result<Vec<u8>> {
    check_sizes(old, delta)?;
    let cap = max_output.min(MAX_SIZE - 1);
    let first = (delta.len() as u64 + old.len() as u64) * 2 + 65_536;
    run_growing(xd3_decode_memory, delta, old, first, cap, 0).map_err(|ret| match ret {
        ENOSPC => Error::new(
            ErrorKind::Limit,
            format!("output would exceed the limit of {cap} bytes"),
        ),
        _ => Error::new(
            ErrorKind::Corrupt,
            format!(
                "the xdelta3 library cannot decode this delta ({}): corrupt, truncated, or wrong source",
                strerror(ret)
            ),
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_refusals() {
        let old = b"the quick brown fox jumps over the lazy dog ".repeat(50);
        let mut new = old.clone();
        new[100..110].copy_from_slice(b"0123456789");
        let delta = encode(&old, &new).unwrap();
        assert!(delta.len() < new.len() / 4);
        assert_eq!(decode(&old, &delta, 1 << 20).unwrap(), new);
        // The cap holds: the output is refused, not truncated.
        assert_eq!(
            decode(&old, &delta, 100).unwrap_err().kind,
            ErrorKind::Limit
        );
        // A flipped byte fails the window checksum (or the decoder's checks).
        let mut bad = delta.clone();
        let last = bad.len() - 3;
        bad[last] ^= 0x55;
        assert_eq!(
            decode(&old, &bad, 1 << 20).unwrap_err().kind,
            ErrorKind::Corrupt
        );
        // A delta against the wrong source is caught by the checksum.
        let wrong = b"x".repeat(old.len());
        assert_eq!(
            decode(&wrong, &delta, 1 << 20).unwrap_err().kind,
            ErrorKind::Corrupt
        );
    }
}
