//! zstd frames, and zstd "patch-from" deltas: the old version as a reference
//! prefix, long-distance matching on, the window sized to cover old + new
//! (as `zstd --patch-from` does). Frames carry their content size and a
//! checksum, so a wrong source or a corrupt delta is detected.
//!
//! Decoding is in two steps so that a caller can decode straight into memory
//! of its own (host-native: a Python `bytes` of the announced size): [`plan`]
//! reads and checks the header against the caps, then [`Plan::decode_into`]
//! or [`Plan::decode_growing`] runs the frame. [`decompress`] does both.

use crate::{Error, ErrorKind, Result};
use zstd::zstd_safe::{self, CCtx, CParameter, DCtx, DParameter, InBuffer, OutBuffer, WriteBuf};

/// zstd's largest window on 64-bit targets.
pub const WINDOW_LOG_MAX: u32 = 31;
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
const MAGIC: [u8; 4] = [0x28, 0xB5, 0x2F, 0xFD];

fn name(code: usize) -> String {
    zstd_safe::get_error_name(code).to_string()
}

/// ceil(log2(n)), at least 10 (zstd's minimum window).
fn window_log_for(n: u64) -> u32 {
    (64 - n.saturating_sub(1).leading_zeros()).clamp(10, WINDOW_LOG_MAX)
}

/// `w` when it is a window log zstd can use.
pub fn check_window_log(w: u32) -> Result<u32> {
    if (10..=WINDOW_LOG_MAX).contains(&w) {
        Ok(w)
    } else {
        Err(Error::new(
            ErrorKind::Argument,
            format!("max_window_log must be between 10 and {WINDOW_LOG_MAX}"),
        ))
    }
}

fn overlaps(a: &[u8], b: &[u8]) -> bool {
    let (a0, b0) = (a.as_ptr() as usize, b.as_ptr() as usize);
    a0 < b0 + b.len() && b0 < a0 + a.len()
}

fn compress_frame(
    data: &[u8],
    level: i32,
    prefix: Option<&[u8]>,
) -> std::result::Result<Vec<u8>, String> {
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

/// A zstd frame of `data` at `level`, with content size and checksum; with
/// a `prefix` (the old version), a patch-from delta.
pub fn compress(data: &[u8], level: i32, prefix: Option<&[u8]>) -> Result<Vec<u8>> {
    let (lo, hi) = (zstd_safe::min_c_level(), zstd_safe::max_c_level());
    if !(lo..=hi).contains(&level) {
        return Err(Error::new(
            ErrorKind::Argument,
            format!("zstd level must be between {lo} and {hi}"),
        ));
    }
    let failed = |e| Error::new(ErrorKind::Internal, format!("zstd failed to compress: {e}"));
    match prefix {
        // zstd finds no match in a prefix that shares memory with the input
        // (encode(v, v) with the same object): give it a copy then.
        Some(p) if overlaps(p, data) && !data.is_empty() => {
            let copy = data.to_vec();
            compress_frame(&copy, level, prefix).map_err(failed)
        }
        _ => compress_frame(data, level, prefix).map_err(failed),
    }
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
) -> std::result::Result<usize, String> {
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

/// A frame whose header passed the caps, ready to decode.
#[derive(Clone, Debug)]
pub struct Plan<'a> {
    frame: &'a [u8],
    prefix: Option<&'a [u8]>,
    window_log: u32,
    /// The content size the frame announces (at most the caller's cap).
    pub size: u64,
    /// Whether `size` is plausible for the frame's length, so that memory
    /// of that size may be taken before decoding ([`Plan::decode_into`]);
    /// otherwise decode with [`Plan::decode_growing`].
    pub in_place: bool,
}

/// Reads one frame's header (a delta's when `prefix` is the old version) and
/// checks it against the caps: its content size must be recorded and at
/// most `max_output`; with `verify`, a delta frame must carry a checksum
/// (nothing else in it tells the right old version from a wrong one).
pub fn plan<'a>(
    frame: &'a [u8],
    prefix: Option<&'a [u8]>,
    max_output: u64,
    max_window_log: u32,
    verify: bool,
) -> Result<Plan<'a>> {
    let what = what(prefix);
    let max_window_log = check_window_log(max_window_log)?;
    let size = match zstd_safe::get_frame_content_size(frame) {
        Ok(Some(n)) => n,
        Ok(None) => return Err(Error::new(
            ErrorKind::Unsupported,
            format!("the {what} does not record its size; frames from oms-accel and from `zstd` on files do"),
        )),
        Err(_) if frame.len() < 4 || frame[..4] != MAGIC => {
            return Err(Error::new(ErrorKind::Corrupt, format!("not a {what} (bad magic bytes)")))
        }
        Err(_) => {
            return Err(Error::new(
                ErrorKind::Truncated,
                format!("the {what} header is truncated or corrupt"),
            ))
        }
    };
    // The content size parsed, so the frame descriptor (byte 4) is there.
    if verify && frame[4] & CHECKSUM_FLAG == 0 {
        return Err(Error::new(
            ErrorKind::Unverified,
            format!("the {what} has no checksum, so its output cannot be verified against the old version: decode with verify=False (--no-verify) only if you know the old version is the right one"),
        ));
    }
    if size > max_output {
        return Err(Error::new(
            ErrorKind::Limit,
            format!("the {what} decodes to {size} bytes, over the limit of {max_output} bytes"),
        ));
    }
    let prefix_len = prefix.map_or(0, |p| p.len() as u64);
    let plausible = (frame.len() as u64)
        .saturating_mul(PLAUSIBLE_RATIO)
        .saturating_add(prefix_len)
        .max(PLAUSIBLE_FLOOR);
    Ok(Plan {
        frame,
        prefix,
        // The window this frame may need follows from the sizes, under the caller's cap.
        window_log: window_log_for(prefix_len + size)
            .max(WINDOW_LOG_DEFAULT)
            .min(max_window_log),
        size,
        in_place: size <= plausible && usize::try_from(size).is_ok(),
    })
}

fn what(prefix: Option<&[u8]>) -> &'static str {
    if prefix.is_some() {
        "zstd delta"
    } else {
        "zstd frame"
    }
}

impl Plan<'_> {
    fn failed(&self, reason: String) -> Error {
        let hint = if self.prefix.is_some() {
            " (corrupt delta, or wrong source)"
        } else {
            ""
        };
        Error::new(
            ErrorKind::Corrupt,
            format!("cannot decode the {}: {reason}{hint}", what(self.prefix)),
        )
    }

    fn check(&self, n: usize) -> Result<()> {
        if n as u64 == self.size {
            Ok(())
        } else {
            Err(self.failed(format!("decoded {n} bytes of the {} announced", self.size)))
        }
    }

    /// Decodes into `out`, which must be `size` bytes long; one pass, no copy.
    pub fn decode_into(&self, out: &mut [u8]) -> Result<()> {
        assert_eq!(
            out.len() as u64,
            self.size,
            "decode_into needs `size` bytes"
        );
        let n = decompress_frame(self.frame, self.prefix, self.window_log, out, |_| false)
            .map_err(|e| self.failed(e))?;
        self.check(n)
    }

    /// Decodes into a `Vec` that grows (by doubling, up to `size`) as output
    /// arrives: for a frame that announces more than its length makes plausible.
    pub fn decode_growing(&self) -> Result<Vec<u8>> {
        let size = usize::try_from(self.size)
            .map_err(|_| self.failed("the frame is too large for memory".into()))?;
        let mut out = Vec::with_capacity(GROW_MIN.min(size));
        let n = decompress_frame(
            self.frame,
            self.prefix,
            self.window_log,
            &mut out,
            |v: &mut Vec<u8>| {
                let have = v.capacity();
                if have >= size {
                    return false;
                }
                v.reserve_exact(have.max(GROW_MIN).min(size - have));
                true
            },
        )
        .map_err(|e| self.failed(e))?;
        self.check(n)?;
        Ok(out)
    }

    /// Decodes the way the plan says: in place when plausible, else growing.
    pub fn decode(&self) -> Result<Vec<u8>> {
        if self.in_place {
            let mut out = vec![0; self.size as usize];
            self.decode_into(&mut out)?;
            Ok(out)
        } else {
            self.decode_growing()
        }
    }
}

/// The content of one frame (the new version when `prefix` is the old one),
/// within the caps: see [`plan`].
pub fn decompress(
    frame: &[u8],
    prefix: Option<&[u8]>,
    max_output: u64,
    max_window_log: u32,
    verify: bool,
) -> Result<Vec<u8>> {
    plan(frame, prefix, max_output, max_window_log, verify)?.decode()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn versions() -> (Vec<u8>, Vec<u8>) {
        let old: Vec<u8> = (0..50_000u32)
            .flat_map(|i| format!("{{\"id\": {i}, \"v\": {}}},", i * 7919 % 10007).into_bytes())
            .collect();
        let mut new = old.clone();
        new[5000..5010].copy_from_slice(b"0123456789");
        (old, new)
    }

    #[test]
    fn patch_from_round_trip() {
        let (old, new) = versions();
        let delta = compress(&new, 3, Some(&old)).unwrap();
        assert!(delta.len() < 1000, "{}", delta.len());
        assert_eq!(
            decompress(&delta, Some(&old), 1 << 30, 31, true).unwrap(),
            new
        );
        // The same object as old and new still finds the match.
        assert!(compress(&old, 3, Some(&old)).unwrap().len() < 1000);
    }

    #[test]
    fn refusals() {
        let (old, new) = versions();
        let delta = compress(&new, 3, Some(&old)).unwrap();
        // (lengths only in a failure's message: the outputs are large)
        let err = |r: Result<Vec<u8>>| r.map(|v| v.len()).unwrap_err().kind;
        assert_eq!(
            err(decompress(&delta, Some(&old), 1000, 31, true)),
            ErrorKind::Limit
        );
        let wrong: Vec<u8> = old.iter().rev().copied().collect();
        assert_eq!(
            err(decompress(&delta, Some(&wrong), 1 << 30, 31, true)),
            ErrorKind::Corrupt
        );
        assert_eq!(
            err(decompress(b"nope", None, 10, 31, false)),
            ErrorKind::Corrupt
        );
        assert_eq!(
            err(decompress(&delta[..5], None, 1 << 30, 31, false)),
            ErrorKind::Truncated
        );
        assert_eq!(
            err(decompress(&delta, Some(&old), 1 << 30, 9, true)),
            ErrorKind::Argument
        );
        assert_eq!(err(compress(b"", 99, None)), ErrorKind::Argument);
    }

    #[test]
    fn an_implausible_claim_takes_memory_only_as_output_arrives() {
        // 1 MiB of zeros announces its size in a frame of a few dozen bytes:
        // past the plausible ratio, so it decodes growing, and still right.
        let zeros = vec![0u8; 8 << 20];
        let frame = compress(&zeros, 3, None).unwrap();
        let p = plan(&frame, None, 1 << 30, 31, false).unwrap();
        assert!(!p.in_place);
        assert_eq!(p.decode().unwrap(), zeros);
    }
}
