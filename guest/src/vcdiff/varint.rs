//! RFC 3284 integers: base 128, most significant digit first, the high bit
//! set on every byte but the last.

use crate::{Error, Result};

/// Bytes `value` takes as a varint.
pub fn len(value: u64) -> usize {
    let bits = 64 - (value | 1).leading_zeros() as usize;
    bits.div_ceil(7)
}

pub fn write(out: &mut Vec<u8>, value: u64) {
    let n = len(value);
    for i in (0..n).rev() {
        let digit = ((value >> (7 * i)) & 0x7F) as u8;
        out.push(if i == 0 { digit } else { digit | 0x80 });
    }
}

/// Reads a varint at `*pos` in `buf`, advancing `*pos`. `what` names the
/// field for the error message.
pub fn read(buf: &[u8], pos: &mut usize, what: &str) -> Result<u64> {
    read_with(
        || {
            let byte = buf.get(*pos).copied();
            *pos += usize::from(byte.is_some());
            Ok(byte)
        },
        what,
    )
}

/// Reads a varint from a byte at a time source (`None`: end of input).
pub fn read_with(mut next: impl FnMut() -> Result<Option<u8>>, what: &str) -> Result<u64> {
    let mut value: u64 = 0;
    loop {
        let Some(byte) = next()? else {
            return Err(Error::truncated(format!("the delta ends inside {what}")));
        };
        if value > (u64::MAX >> 7) {
            return Err(Error::corrupt(format!("{what} overflows 64 bits")));
        }
        value = (value << 7) | u64::from(byte & 0x7F);
        if byte & 0x80 == 0 {
            return Ok(value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_matches_rfc_example() {
        // RFC 3284 section 2: 123456789 is the digits 58 111 26 21.
        let mut out = Vec::new();
        write(&mut out, 123_456_789);
        assert_eq!(out, [0xBA, 0xEF, 0x9A, 0x15]);
        for v in [0u64, 1, 127, 128, 16383, 16384, u32::MAX as u64, u64::MAX] {
            let mut out = Vec::new();
            write(&mut out, v);
            assert_eq!(out.len(), len(v));
            let mut pos = 0;
            assert_eq!(read(&out, &mut pos, "x").unwrap(), v);
            assert_eq!(pos, out.len());
        }
    }

    #[test]
    fn rejects_overflow_and_truncation() {
        let mut pos = 0;
        assert_eq!(
            read(&[0xFF; 11], &mut pos, "x").unwrap_err().code,
            crate::ErrorCode::Corrupt
        );
        let mut pos = 0;
        assert_eq!(
            read(&[0x81], &mut pos, "x").unwrap_err().code,
            crate::ErrorCode::Truncated
        );
    }
}
