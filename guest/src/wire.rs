//! How bytes reach the guest and leave it besides WIT lists: files in the
//! directories a host preopened (the bulk carrier on hosts whose lists are
//! slow), and lower-case hex in a WIT string (small batches on such hosts).
//! Plain std I/O, so `cargo test` runs it natively on temporary files.

use crate::{Error, Result};
use std::borrow::Cow;

/// A file of little-endian values of `N` bytes each, read a block at a time
/// into the values: memory holds the values, not the file's bytes as well
/// (on hosts that pass files, a vector shard's every part crosses so).
pub fn read_values<const N: usize, T>(path: &str, from: fn([u8; N]) -> T) -> Result<Vec<T>> {
    let open = |_: &[u8], len: u64| {
        if !len.is_multiple_of(N as u64) {
            return Err(Error::invalid(format!(
                "{path} is {len} bytes, not a whole number of {N}-byte values"
            )));
        }
        let out_of_memory = || Error::limit(format!("out of memory while reading {path}"));
        let count = usize::try_from(len / N as u64).map_err(|_| out_of_memory())?;
        let mut out = Vec::new();
        out.try_reserve_exact(count).map_err(|_| out_of_memory())?;
        Ok((out, N))
    };
    read_blocks(path, 0, open, |out: &mut Vec<T>, block| {
        out.extend(decode(block, from));
        Ok(())
    })
}

/// The file at `path` read a block at a time: its first `head_len` bytes
/// (fewer in a shorter file) and the length of the rest go to `open`, which
/// makes the state and says how many bytes a unit of the rest is; then each
/// block (a whole number of units, at most `BLOCK` bytes unless a unit
/// is larger) goes to `each`. Memory holds one block, never the whole file.
pub fn read_blocks<S>(
    path: &str,
    head_len: usize,
    open: impl FnOnce(&[u8], u64) -> Result<(S, usize)>,
    mut each: impl FnMut(&mut S, &[u8]) -> Result<()>,
) -> Result<S> {
    let io = |e| Error::io(&format!("reading {path}"), e);
    let mut file = std::fs::File::open(path).map_err(io)?;
    let len = file.metadata().map_err(io)?.len();
    let mut head = vec![0; head_len.min(usize::try_from(len).unwrap_or(usize::MAX))];
    std::io::Read::read_exact(&mut file, &mut head).map_err(io)?;
    let mut rest = len - head.len() as u64;
    let (mut state, unit) = open(&head, rest)?;
    // No larger than the rest: a query's file is a few KiB.
    let block_len = (BLOCK / unit).max(1).saturating_mul(unit);
    let block_len = block_len.min(usize::try_from(rest).unwrap_or(usize::MAX));
    let mut block = Vec::new();
    block
        .try_reserve_exact(block_len)
        .map_err(|_| Error::limit(format!("out of memory while reading {path}")))?;
    block.resize(block_len, 0);
    while rest > 0 {
        let want = block_len.min(usize::try_from(rest).unwrap_or(usize::MAX));
        // A file cut short since its size was read is an I/O error.
        std::io::Read::read_exact(&mut file, &mut block[..want]).map_err(io)?;
        each(&mut state, &block[..want])?;
        rest -= want as u64;
    }
    Ok(state)
}

/// Bytes a file is read (`read_blocks`) or written (a vector index's
/// `save`) a block at a time: each read or write is a call out of the
/// sandbox. wasmtime-py adding 200k x 384 f32 in one call, alternated:
/// 2.5-3.7 us a vector at 64 KiB, 2.5-2.8 at 1 MiB.
pub const BLOCK: usize = 1 << 20;

/// `bytes` (a whole number of `N`-byte values) as values. Running out of
/// memory is an error, not an abort: in wasm an abort traps and takes the
/// instance with it (a vector shard's rows included).
pub fn values<const N: usize, T>(bytes: &[u8], from: fn([u8; N]) -> T) -> Result<Vec<T>> {
    let mut out = Vec::new();
    out.try_reserve_exact(bytes.len() / N).map_err(|_| {
        Error::limit(format!(
            "out of memory for {} values of {N} bytes",
            bytes.len() / N
        ))
    })?;
    out.extend(decode(bytes, from));
    Ok(out)
}

/// The values of `bytes`, a whole number of `N`-byte values.
fn decode<'a, const N: usize, T: 'a>(
    bytes: &'a [u8],
    from: fn([u8; N]) -> T,
) -> impl Iterator<Item = T> + 'a {
    bytes
        .chunks_exact(N)
        .map(move |c| from(c.try_into().expect("chunks of N bytes")))
}

/// Writes `bytes` to `path` through a temporary file beside it, so that
/// `path` is either the whole new file or what it was before.
pub fn write_whole(path: &str, bytes: &[u8]) -> Result<()> {
    write_parts(path, std::iter::once(Ok(bytes)))
}

/// A text result for a host that takes at most so much back from one call
/// (wasmtime-py: 128 MiB), as the WIT's `*-or-file` calls return it:
/// `text` if it has at most `inline_max` bytes, else "" (which no JSON
/// text is) with `text` written to `path`.
pub fn text_or_file(text: Cow<'_, str>, inline_max: u64, path: &str) -> Result<String> {
    if text.len() as u64 <= inline_max {
        return Ok(text.into_owned());
    }
    write_whole(path, text.as_bytes())?;
    Ok(String::new())
}

/// `write_whole` of the parts, made one at a time (memory holds one, never
/// the whole file); a part's error leaves `path` as it was, and is returned.
pub fn write_parts<B: AsRef<[u8]>>(
    path: &str,
    parts: impl IntoIterator<Item = Result<B>>,
) -> Result<()> {
    let tmp = format!("{path}.part");
    let io = |e| Error::io(&format!("writing {path}"), e);
    let written = (|| {
        let mut file = std::fs::File::create(&tmp).map_err(io)?;
        for part in parts {
            std::io::Write::write_all(&mut file, part?.as_ref()).map_err(io)?;
        }
        drop(file);
        std::fs::rename(&tmp, path).map_err(io)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

/// Lower-case hex of `bytes`.
pub fn hex_encode(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 15)] as char);
    }
    out
}

/// The bytes of hex text (either case).
pub fn hex_decode(text: &str) -> Result<Vec<u8>> {
    let digit = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    };
    let t = text.as_bytes();
    if !t.len().is_multiple_of(2) {
        return Err(Error::invalid("hex of odd length"));
    }
    t.chunks_exact(2)
        .map(|p| Some(digit(p[0])? << 4 | digit(p[1])?))
        .collect::<Option<Vec<u8>>>()
        .ok_or_else(|| Error::invalid("not hex"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorCode;

    fn scratch(name: &str) -> String {
        let dir = std::env::temp_dir().join(format!("oms-accel-wire-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir.join(name).to_string_lossy().into_owned()
    }

    #[test]
    fn hex_round_trips_and_refuses_non_hex() {
        let bytes: Vec<u8> = (0..=255).collect();
        let text = hex_encode(&bytes);
        assert_eq!(&text[..6], "000102");
        assert_eq!(hex_decode(&text).unwrap(), bytes);
        assert_eq!(hex_decode("FFab").unwrap(), vec![0xff, 0xab]);
        for bad in ["abc", "zz", "0g"] {
            assert_eq!(
                hex_decode(bad).unwrap_err().code,
                ErrorCode::InvalidArgument
            );
        }
    }

    #[test]
    fn files_are_read_as_values_and_written_whole() {
        let path = scratch("values");
        write_whole(&path, &[1, 0, 0, 0, 2, 0, 0, 0]).unwrap();
        assert!(!std::path::Path::new(&format!("{path}.part")).exists());
        assert_eq!(read_values(&path, u32::from_le_bytes).unwrap(), vec![1, 2]);
        let e = read_values(&path, u64::from_le_bytes as fn([u8; 8]) -> u64).unwrap();
        assert_eq!(e, vec![0x0000_0002_0000_0001]);
        write_whole(&path, &[1, 2, 3]).unwrap();
        let e = read_values(&path, u32::from_le_bytes).unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidArgument);
        assert!(e.message.contains("3 bytes"), "{e}");
        // More than one block, and a last block that is not full.
        let many: Vec<u32> = (0..300_000).collect();
        let bytes: Vec<u8> = many.iter().flat_map(|v| v.to_le_bytes()).collect();
        write_whole(&path, &bytes).unwrap();
        assert_eq!(read_values(&path, u32::from_le_bytes).unwrap(), many);
        let e = read_values(&scratch("missing"), u32::from_le_bytes).unwrap_err();
        assert_eq!(e.code, ErrorCode::Io);
        // A directory that does not exist: nothing is left behind.
        let nowhere = scratch("no/such/dir");
        assert_eq!(write_whole(&nowhere, b"x").unwrap_err().code, ErrorCode::Io);
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn text_past_its_inline_maximum_goes_to_the_file() {
        let path = scratch("text");
        assert_eq!(text_or_file("[1,2]".into(), 5, &path).unwrap(), "[1,2]");
        assert!(!std::path::Path::new(&path).exists());
        assert_eq!(text_or_file("[1,2]".into(), 4, &path).unwrap(), "");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "[1,2]");
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn files_are_read_in_blocks_after_a_head() {
        let path = scratch("blocks");
        // A head of 3 bytes, then units of 12 over more than one block.
        let mut bytes = vec![7u8, 8, 9];
        bytes.extend((0..BLOCK as u32 / 3).flat_map(|v| v.to_le_bytes()));
        bytes.truncate(3 + (bytes.len() - 3) / 12 * 12);
        write_whole(&path, &bytes).unwrap();
        let open = |head: &[u8], rest: u64| {
            assert_eq!(head, [7, 8, 9]);
            assert_eq!(rest, bytes.len() as u64 - 3);
            Ok((Vec::new(), 12))
        };
        let blocks: Vec<Vec<u8>> = read_blocks(&path, 3, open, |seen: &mut Vec<Vec<u8>>, block| {
            assert!(block.len() % 12 == 0 && block.len() <= BLOCK);
            seen.push(block.to_vec());
            Ok(())
        })
        .unwrap();
        assert!(blocks.len() > 1);
        assert_eq!(blocks.concat(), bytes[3..]);
        // A file shorter than the head: `open` sees what there is.
        write_whole(&path, &[1]).unwrap();
        let short = read_blocks(
            &path,
            3,
            |h, rest| Ok(((h.to_vec(), rest), 1)),
            |_, _| Ok(()),
        );
        assert_eq!(short.unwrap(), (vec![1], 0));
        // An error from `each` is returned.
        write_whole(&path, &bytes).unwrap();
        let refused = read_blocks(
            &path,
            3,
            |_, _| Ok(((), 12)),
            |_, _| Err(Error::limit("no")),
        );
        assert_eq!(refused.unwrap_err().code, ErrorCode::LimitExceeded);
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn a_part_that_fails_leaves_the_file_as_it_was() {
        let path = scratch("parts");
        write_parts(&path, [Ok(&b"ab"[..]), Ok(&b"cd"[..])]).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"abcd");
        let e =
            write_parts(&path, [Ok(&b"xy"[..]), Err(Error::limit("out of memory"))]).unwrap_err();
        assert_eq!(e.code, ErrorCode::LimitExceeded);
        assert_eq!(std::fs::read(&path).unwrap(), b"abcd");
        assert!(!std::path::Path::new(&format!("{path}.part")).exists());
        std::fs::remove_file(&path).unwrap();
    }
}
