//! VCDIFF (RFC 3284) delta encoding and decoding, compatible with xdelta3.
//!
//! Format facts shared by the encoder and decoder live here; each piece of
//! the format has its own module:
//! - [`varint`]: the base-128 integers every header field uses,
//! - [`code_table`]: the default instruction code table (RFC 3284 5.6),
//! - [`addr_cache`]: the near/same address cache (RFC 3284 5.1-5.3),
//! - [`source`]: random access to the old version (memory or file),
//! - [`decoder`], [`encoder`] (with its match finder in [`matcher`], whose
//!   short-match search is [`near`]),
//! - [`files`]: both between files, one window per step.

pub mod addr_cache;
pub mod code_table;
pub mod decoder;
pub mod encoder;
pub mod files;
pub mod matcher;
pub mod near;
pub mod source;
pub mod varint;

pub use decoder::{decode, Decoder, Output, Written};
pub use encoder::{encode, EncodeOptions, Encoder};
pub use files::{decode_file, encode_file, FileDecoder, FileEncoder};
pub use source::{FileSource, SliceSource, Source};

/// The four bytes every VCDIFF stream starts with: "VCD" with the high bits
/// set, then version 0.
pub const MAGIC: [u8; 4] = [0xD6, 0xC3, 0xC4, 0x00];

// Hdr_Indicator bits.
pub const VCD_DECOMPRESS: u8 = 0x01;
pub const VCD_CODETABLE: u8 = 0x02;
/// xdelta3's extension: an application header (file names) follows.
pub const VCD_APPHEADER: u8 = 0x04;

// Win_Indicator bits.
pub const VCD_SOURCE: u8 = 0x01;
pub const VCD_TARGET: u8 = 0x02;
/// xdelta3's extension: a big-endian Adler-32 of the target window follows
/// the three section lengths.
pub const VCD_ADLER32: u8 = 0x04;

/// Our application header (xdelta3's extension, which xdelta3 keeps file
/// names in): this prefix and the new version's length in decimal. VCDIFF
/// has no end marker, so this is what lets our decoder tell a delta cut at
/// a window boundary from a complete one. Only a new version of more than
/// one window needs it: a one-window delta cut anywhere is incomplete by
/// itself (no window at all, or a window shorter than its header says), and
/// on the small documents of a store its 20 bytes were a tenth of the
/// delta. xdelta3 ignores it when it is given the output name.
pub const LENGTH_APPHEADER: &[u8] = b"oms-accel:len=";

/// The largest target window we accept when decoding. xdelta3 never writes
/// windows above 16 MiB and we write 8 MiB ones; anything far above that is
/// a hostile header, refused before any allocation.
pub const MAX_TARGET_WINDOW: u64 = 64 << 20;

/// Progress of a streaming operation, in the unit the operation counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Progress {
    pub done: u64,
    pub total: u64,
    pub finished: bool,
}

/// Adler-32 as xdelta3 stores it (zlib's, initial value 1).
///
/// simd-adler32 rather than a loop of our own: its simd128 kernel (and
/// AVX2/SSSE3 natively) sums with weighted dot products, 0.3 instructions a
/// byte against 6 for the best the vectorizer made of a portable loop, which
/// had left the checksum at three fifths of a VCDIFF encode plus decode.
/// Equal to `adler2` on every input (the property test in tests/vcdiff.rs).
pub fn adler32(data: &[u8]) -> u32 {
    let mut hash = simd_adler32::Adler32::new();
    hash.write(data);
    hash.finish()
}
