//! VCDIFF (RFC 3284) delta encoding and decoding, compatible with xdelta3.
//!
//! Format facts shared by the encoder and decoder live here; each piece of
//! the format has its own module:
//! - [`varint`]: the base-128 integers every header field uses,
//! - [`code_table`]: the default instruction code table (RFC 3284 5.6),
//! - [`addr_cache`]: the near/same address cache (RFC 3284 5.1-5.3),
//! - [`source`]: random access to the old version (memory or file),
//! - [`decoder`], [`encoder`] (with its match finder in [`matcher`]),
//! - [`files`]: both between files, one window per step.

pub mod addr_cache;
pub mod code_table;
pub mod decoder;
pub mod encoder;
pub mod files;
pub mod matcher;
pub mod source;
pub mod varint;

pub use decoder::{decode, Decoder};
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
/// a window boundary from a complete one. xdelta3 ignores it when it is
/// given the output name.
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
/// Written for the vectorizer rather than taken from `adler2`, whose scalar
/// loop was a fifth of a VCDIFF decode in the sandbox: each of 16 byte lanes
/// keeps its own sum and the sum of its sums, which LLVM turns into u32x4
/// arithmetic on wasm's simd128 (and on SSE/AVX natively); the lanes are
/// folded into (a, b) once per block. Equal to `adler2` on every input (the
/// property test below).
pub fn adler32(data: &[u8]) -> u32 {
    const MOD: u64 = 65521;
    const LANES: usize = 16;
    // Per lane: s <= 255 * n and p <= 255 * n * n / 2 stay below 2^32 for
    // n = 2048 chunks.
    const BLOCK: usize = LANES * 2048;
    let (mut a, mut b) = (1u64, 0u64);
    let mut blocks = data.chunks_exact(BLOCK);
    let tail = loop {
        let Some(block) = blocks.next() else {
            break blocks.remainder();
        };
        (a, b) = adler_block(a, b, block);
    };
    let chunks = tail.len() / LANES * LANES;
    (a, b) = adler_block(a, b, &tail[..chunks]);
    for &x in &tail[chunks..] {
        a += u64::from(x);
        b += a;
    }
    (((b % MOD) << 16) | (a % MOD)) as u32
}

/// (a, b) after `block` (whole 16-byte chunks, at most 2048 of them), reduced.
fn adler_block(a: u64, b: u64, block: &[u8]) -> (u64, u64) {
    const MOD: u64 = 65521;
    let (mut s, mut p) = ([0u32; 16], [0u32; 16]);
    let chunks = block.chunks_exact(16);
    let n = chunks.len() as u64;
    for chunk in chunks {
        for i in 0..16 {
            p[i] += s[i];
            s[i] += u32::from(chunk[i]);
        }
    }
    // Byte i of a chunk adds to b 16 - i times within it, and 16 times for
    // every later chunk (p counts those).
    let (mut sum, mut weighted) = (0u64, 0u64);
    for i in 0..16 {
        sum += u64::from(s[i]);
        weighted += 16 * u64::from(p[i]) + (16 - i as u64) * u64::from(s[i]);
    }
    ((a + sum) % MOD, (b + 16 * n * a + weighted) % MOD)
}
