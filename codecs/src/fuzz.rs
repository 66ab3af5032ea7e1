//! The bodies of the native fuzz targets (`fuzz/`: `zstd_delta_decode`,
//! `xdelta3_decode`), here so that `cargo test` runs them too
//! (`tests/fuzz_smoke.rs`). Each takes an old version and a delta (the
//! target splits its input as the guest's targets do) and panics only on a
//! finding: output past the cap, or a refusal no input should cause.

use crate::zstd_frame::{self, WINDOW_LOG_MAX};
use crate::{xdelta, ErrorKind, Result};

/// Output cap under fuzzing: room for what the fuzzer's inputs (a few KiB)
/// honestly expand into; a delta that claims more is refused, not
/// allocated. Small, because the cap is what is tested, not its size, and a
/// delta of runs that fills 16 MiB costs milliseconds a run: xdelta3_decode
/// ran at 870 executions a second under a 16 MiB cap.
pub const MAX_OUTPUT: u64 = 1 << 20;

fn check(what: &str, result: Result<Vec<u8>>) {
    match result {
        Ok(out) => assert!(
            out.len() as u64 <= MAX_OUTPUT,
            "{what}: output past the cap"
        ),
        // Internal means the C library failed in a way no input should
        // cause; Argument that our own call was wrong.
        Err(e) => assert!(
            !matches!(e.kind, ErrorKind::Internal | ErrorKind::Argument),
            "{what}: {e}"
        ),
    }
}

/// A zstd patch-from delta decoded against `old` (verified and not), and the
/// same bytes as a plain frame.
pub fn zstd_delta_decode(old: &[u8], frame: &[u8]) {
    for verify in [false, true] {
        check(
            "zstd delta",
            zstd_frame::decompress(frame, Some(old), MAX_OUTPUT, WINDOW_LOG_MAX, verify),
        );
    }
    check(
        "zstd frame",
        zstd_frame::decompress(frame, None, MAX_OUTPUT, WINDOW_LOG_MAX, false),
    );
}

/// A VCDIFF delta decoded against `old` by the xdelta3 library.
pub fn xdelta3_decode(old: &[u8], delta: &[u8]) {
    check("xdelta3", xdelta::decode(old, delta, MAX_OUTPUT));
}
