//! zstd frames, and zstd "patch-from" deltas: the old version as a reference
//! prefix, long-distance matching on, the window sized to cover old + new
//! (as `zstd --patch-from` does). Frames carry their content size and a
//! checksum, so a wrong source or a corrupt delta is detected.

use crate::buffer::Input;
use crate::errors::{argument_error, compression_error, delta_error, limit_error};
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use zstd::zstd_safe::{self, CCtx, CParameter, DCtx, DParameter, InBuffer, OutBuffer, WriteBuf};

/// zstd's largest window on 64-bit targets.
const WINDOW_LOG_MAX: u32 = 31;
/// What zstd itself accepts without being told more (ZSTD_WINDOWLOG_LIMIT_DEFAULT).
const WINDOW_LOG_DEFAULT: u32 = 27;
/// Output per input byte that a frame is believed to announce without proof:
/// JSON compresses 5-20x at level 3. A frame claiming more is decoded into
/// memory that grows as its output arrives, so a 17-byte frame announcing
/// 2 GB costs what it decodes before it fails, not 2 GB.
const PLAUSIBLE_RATIO: u64 = 64;
/// Content_Checksum_flag in a frame header's descriptor byte (RFC 8878 3.1.1.1.1).
const CHECKSUM_FLAG: u8 = 0x04;
/// A claim this small is always believed.
const PLAUSIBLE_FLOOR: u64 = 1 << 20;
/// Step by which the growing output is extended, at least.
const GROW_MIN: usize = 1 << 20;

fn name(code: usize) -> String {
    zstd_safe::get_error_name(code).to_string()
}

/// ceil(log2(n)), at least 10 (zstd's minimum window).
fn window_log_for(n: u64) -> u32 {
    (64 - n.saturating_sub(1).leading_zeros()).clamp(10, WINDOW_LOG_MAX)
}

fn compress_frame(data: &[u8], level: i32, prefix: Option<&[u8]>) -> Result<Vec<u8>, String> {
    let mut cctx = CCtx::create();
    cctx.set_parameter(CParameter::CompressionLevel(level))
        .map_err(name)?;
    cctx.set_parameter(CParameter::ChecksumFlag(true))
        .map_err(name)?;
    cctx.set_parameter(CParameter::ContentSizeFlag(true))
        .map_err(name)?;
    cctx.set_pledged_src_size(Some(data.len() as u64))
        .map_err(name)?;
    if let Some(prefix) = prefix {
        let window = window_log_for(prefix.len() as u64 + data.len() as u64);
        cctx.set_parameter(CParameter::WindowLog(window))
            .map_err(name)?;
        cctx.set_parameter(CParameter::EnableLongDistanceMatching(true))
            .map_err(name)?;
        cctx.ref_prefix(prefix).map_err(name)?;
    }
    let mut out = Vec::with_capacity(zstd_safe::compress_bound(data.len()));
    cctx.compress2(&mut out, data).map_err(name)?;
    Ok(out)
}

fn compress(
    py: Python<'_>,
    data: &[u8],
    level: i32,
    prefix: Option<&[u8]>,
) -> PyResult<Py<PyBytes>> {
    let (lo, hi) = (zstd_safe::min_c_level(), zstd_safe::max_c_level());
    if !(lo..=hi).contains(&level) {
        return Err(argument_error(
            py,
            format!("zstd level must be between {lo} and {hi}"),
        ));
    }
    let out = py
        .detach(|| compress_frame(data, level, prefix))
        .map_err(|e| compression_error(py, format!("zstd failed to compress: {e}"), "internal"))?;
    Ok(PyBytes::new(py, &out).unbind())
}

/// Decodes one whole frame into `out`. When `out` is full, `room` makes
/// more or says it may not (the frame then decodes to more than it
/// announces). Returns the bytes written.
fn decompress_frame<C: WriteBuf + ?Sized>(
    frame: &[u8],
    prefix: Option<&[u8]>,
    window_log: u32,
    out: &mut C,
    mut room: impl FnMut(&mut C) -> bool,
) -> Result<usize, String> {
    let corrupt = name;
    let mut dctx = DCtx::create();
    dctx.set_parameter(DParameter::WindowLogMax(window_log))
        .map_err(corrupt)?;
    if let Some(p) = prefix {
        dctx.ref_prefix(p).map_err(corrupt)?;
    }
    let mut input = InBuffer::around(frame);
    let mut pos = 0;
    loop {
        let mut output = OutBuffer::around_pos(out, pos);
        let hint = dctx
            .decompress_stream(&mut output, &mut input)
            .map_err(corrupt)?;
        pos = output.pos();
        let full = pos == output.capacity();
        if hint == 0 {
            break;
        }
        if full {
            if !room(out) {
                return Err("the frame decodes to more than it announces".into());
            }
        } else if input.pos == frame.len() {
            return Err("the frame is truncated".into());
        }
    }
    if input.pos != frame.len() {
        return Err("unexpected data after the zstd frame".into());
    }
    Ok(pos)
}

/// Decodes a frame whose announced `size` the input does not back into a
/// `Vec` that grows (by doubling, up to `size`) as output arrives.
fn decompress_growing(
    frame: &[u8],
    prefix: Option<&[u8]>,
    window_log: u32,
    size: u64,
) -> Result<Vec<u8>, String> {
    let size = usize::try_from(size).map_err(|_| "the frame is too large for memory")?;
    let mut out = Vec::with_capacity(GROW_MIN.min(size));
    decompress_frame(frame, prefix, window_log, &mut out, |v: &mut Vec<u8>| {
        let have = v.capacity();
        if have >= size {
            return false;
        }
        v.reserve_exact(have.max(GROW_MIN).min(size - have));
        true
    })?;
    Ok(out)
}

/// Decodes one frame (a delta when `prefix` is the old version). With
/// `verify`, a delta frame without a content checksum is refused: nothing
/// else in it would tell the right old version from a wrong one.
fn decompress(
    py: Python<'_>,
    frame: &[u8],
    prefix: Option<&[u8]>,
    max_output: u64,
    max_window_log: u32,
    verify: bool,
) -> PyResult<Py<PyBytes>> {
    let what = if prefix.is_some() {
        "zstd delta"
    } else {
        "zstd frame"
    };
    // A bad delta is a DeltaError; a bad plain frame a CompressionError.
    let error = |message: String, code: &str| {
        if prefix.is_some() {
            delta_error(py, message, code)
        } else {
            compression_error(py, message, code)
        }
    };
    let size = match zstd_safe::get_frame_content_size(frame) {
        Ok(Some(n)) => n,
        Ok(None) => {
            return Err(error(
                format!("the {what} does not record its size; frames from oms-accel and from `zstd` on files do"),
                "unsupported",
            ))
        }
        Err(_) if frame.len() < 4 || frame[..4] != [0x28, 0xB5, 0x2F, 0xFD] => {
            return Err(error(format!("not a {what} (bad magic bytes)"), "corrupt"))
        }
        Err(_) => return Err(error(format!("the {what} header is truncated or corrupt"), "truncated")),
    };
    // The content size parsed, so the frame descriptor (byte 4) is there.
    if verify && frame[4] & CHECKSUM_FLAG == 0 {
        return Err(error(
            format!("the {what} has no checksum, so its output cannot be verified against the old version: decode with verify=False (--no-verify) only if you know the old version is the right one"),
            "unverified",
        ));
    }
    if size > max_output {
        return Err(limit_error(
            py,
            format!("the {what} decodes to {size} bytes, over the limit of {max_output} bytes"),
        ));
    }
    let prefix_len = prefix.map_or(0, |p| p.len() as u64);
    // The window this frame may need follows from the sizes, under the caller's cap.
    let window_log = window_log_for(prefix_len + size)
        .max(WINDOW_LOG_DEFAULT)
        .min(max_window_log);
    let mut failure = None;
    let check =
        |n: usize| (n as u64 != size).then(|| format!("decoded {n} bytes of the {size} announced"));
    let plausible = (frame.len() as u64)
        .saturating_mul(PLAUSIBLE_RATIO)
        .saturating_add(prefix_len)
        .max(PLAUSIBLE_FLOOR);
    let bytes = if size <= plausible {
        // The common case: straight into the result, one pass, no copy.
        PyBytes::new_with(py, size as usize, |buf| {
            let decoded = py.detach(|| decompress_frame(frame, prefix, window_log, buf, |_| false));
            failure = decoded.map_or_else(Some, check);
            Ok(())
        })?
    } else {
        match py.detach(|| decompress_growing(frame, prefix, window_log, size)) {
            Ok(out) => {
                failure = check(out.len());
                PyBytes::new(py, &out)
            }
            Err(e) => {
                failure = Some(e);
                PyBytes::new(py, b"")
            }
        }
    };
    match failure {
        None => Ok(bytes.unbind()),
        Some(m) => {
            let hint = if prefix.is_some() {
                " (corrupt delta, or wrong source)"
            } else {
                ""
            };
            Err(error(
                format!("cannot decode the {what}: {m}{hint}"),
                "corrupt",
            ))
        }
    }
}

fn check_window_log(py: Python<'_>, w: u32) -> PyResult<u32> {
    if (10..=WINDOW_LOG_MAX).contains(&w) {
        Ok(w)
    } else {
        Err(argument_error(
            py,
            format!("max_window_log must be between 10 and {WINDOW_LOG_MAX}"),
        ))
    }
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
    let w = check_window_log(py, max_window_log)?;
    decompress(py, frame.as_slice(), None, max_output, w, false)
}

fn overlaps(a: &[u8], b: &[u8]) -> bool {
    let (a0, b0) = (a.as_ptr() as usize, b.as_ptr() as usize);
    a0 < b0 + b.len() && b0 < a0 + a.len()
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
    let (old, new) = (old.as_slice(), new.as_slice());
    // zstd finds no match in a prefix that shares memory with the input
    // (encode(v, v) with the same object): give it a copy then.
    if overlaps(old, new) && !new.is_empty() {
        let copy = new.to_vec();
        return compress(py, &copy, level, Some(old));
    }
    compress(py, new, level, Some(old))
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
    let w = check_window_log(py, max_window_log)?;
    decompress(
        py,
        delta.as_slice(),
        Some(old.as_slice()),
        max_output,
        w,
        verify,
    )
}
