//! Strict RFC 8259 parsing: no trailing commas, leading zeros, comments,
//! NaN/Infinity, invalid UTF-8, raw control characters or lone surrogates.
//! The text is checked by `scan` (syntax, size and depth) before
//! serde_json ever recurses, so a hostile document is an error, never a stack
//! overflow; serde_json then builds the DOM.

use super::scan::{self, Index, Invalid};
use super::tape::Tape;
use crate::{Error, ErrorCode, Position, Result};
use serde_json::Value;

#[derive(Debug, Clone, Copy)]
pub struct ParseLimits {
    /// Deepest nesting of arrays and objects.
    pub max_depth: u32,
    /// Largest document, in bytes.
    pub max_size: u64,
}

impl ParseLimits {
    /// Limits as a host gives them: 0 means the default.
    pub fn or_default(max_depth: u32, max_size: u64) -> Self {
        let d = ParseLimits::default();
        ParseLimits {
            max_depth: if max_depth == 0 {
                d.max_depth
            } else {
                max_depth
            },
            max_size: if max_size == 0 { d.max_size } else { max_size },
        }
    }
}

impl Default for ParseLimits {
    fn default() -> Self {
        // serde_json's own recursion limit is 128; we go deeper, checked here.
        ParseLimits {
            max_depth: 512,
            max_size: 1 << 30,
        }
    }
}

/// The error for text the scan refused, at the start of the offending
/// token (where Python's `json` puts it too).
fn invalid(text: &[u8], e: &Invalid, limits: &ParseLimits) -> Error {
    if e.too_deep {
        let e = syntax_error(
            text,
            e.offset,
            &format!("nesting deeper than {} levels", limits.max_depth),
        );
        return Error {
            code: ErrorCode::LimitExceeded,
            ..e
        };
    }
    syntax_error(text, e.offset, e.what)
}

/// Checks `text` (size, strict syntax, depth), then hands it and its
/// structural index to `with_index`.
pub fn index<T>(
    text: &[u8],
    limits: &ParseLimits,
    with_index: impl FnOnce(Index) -> T,
) -> Result<T> {
    check_size(text.len(), limits)?;
    match scan::index(text, limits.max_depth) {
        Ok(ix) => Ok(with_index(ix)),
        Err(e) => Err(invalid(text, &e, limits)),
    }
}

fn check_size(len: usize, limits: &ParseLimits) -> Result<()> {
    if len as u64 > limits.max_size {
        return Err(Error::limit(format!(
            "the document is {len} bytes, over the limit of {} bytes",
            limits.max_size
        )));
    }
    Ok(())
}

/// Parses JSON text.
pub fn parse(text: String, limits: &ParseLimits) -> Result<Value> {
    parse_str(&text, limits)
}

/// Parses JSON bytes. UTF-8 is checked first, so that invalid UTF-8 is
/// reported where it is.
pub fn parse_bytes(bytes: Vec<u8>, limits: &ParseLimits) -> Result<Value> {
    check_size(bytes.len(), limits)?;
    parse_str(&utf8(bytes)?, limits)
}

/// `bytes` as text, or a syntax error where they stop being UTF-8.
pub fn utf8(bytes: Vec<u8>) -> Result<String> {
    String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        syntax_error(e.as_bytes(), at, "invalid UTF-8")
    })
}

fn parse_str(text: &str, limits: &ParseLimits) -> Result<Value> {
    check(text.as_bytes(), limits)?;
    build(text)
}

/// Checks `text` (size, strict syntax, depth) as a parse does, building nothing.
pub(crate) fn check(text: &[u8], limits: &ParseLimits) -> Result<()> {
    check_size(text.len(), limits)?;
    scan::check(text, limits.max_depth).map_err(|e| invalid(text, &e, limits))
}

/// The tape of `text` ([`Tape`]), checked as a parse checks it; None when
/// an object in it repeats a key.
pub(crate) fn tape<'t>(text: &'t str, limits: &ParseLimits) -> Result<Option<Tape<'t>>> {
    check_size(text.len(), limits)?;
    Tape::parse(text, limits.max_depth).map_err(|e| invalid(text.as_bytes(), &e, limits))
}

/// The DOM of JSON that `scan` accepted (so its depth is within limits:
/// building it recurses). serde_json builds it: after the scan it has only
/// the tree to allocate, and it does so 15-20% faster than simd-json's
/// serde path, whose per-call buffers also dominate small documents. From
/// `str`, not bytes: serde_json then checks no string's UTF-8 again (that
/// was 3.5% of validating a 4 KB document in wasm).
pub(crate) fn build(text: &str) -> Result<Value> {
    let bytes = text.as_bytes();
    let mut de = serde_json::Deserializer::from_str(text);
    // The scan bounded the depth already, and deeper than serde_json's 128.
    de.disable_recursion_limit();
    match serde::Deserialize::deserialize(&mut de).and_then(|v: Value| de.end().map(|()| v)) {
        Ok(v) => Ok(v),
        Err(e) => {
            let offset = offset_of(bytes, e.line(), e.column());
            // Its Display ends in " at line L column C", which ours gives.
            let message = e.to_string();
            let what = message
                .rsplit_once(" at line ")
                .map_or(&*message, |(w, _)| w);
            Err(syntax_error(bytes, offset, what))
        }
    }
}

/// The byte offset of serde_json's 1-based line and column (a column
/// counts bytes).
fn offset_of(text: &[u8], line: usize, column: usize) -> usize {
    let mut start = 0;
    for _ in 1..line {
        match text[start..].iter().position(|&b| b == b'\n') {
            Some(p) => start += p + 1,
            None => break,
        }
    }
    (start + column.saturating_sub(1)).min(text.len())
}

/// A syntax error at byte `offset`, with its line and column (1-based, in
/// characters) both in the position and, for people, in the message:
/// "line L column C: what".
fn syntax_error(text: &[u8], offset: usize, what: &str) -> Error {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |p| p + 1);
    let column = String::from_utf8_lossy(&before[line_start..])
        .chars()
        .count()
        + 1;
    Error::new(
        ErrorCode::Syntax,
        format!("line {line} column {column}: {what}"),
    )
    .at(Position {
        offset: offset as u64,
        line: line as u32,
        column: column as u32,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Result<Value> {
        parse(s.to_string(), &ParseLimits::default())
    }

    #[test]
    fn accepts_valid_json() {
        for ok in [
            r#"{"a":[1,2.5,-3e10,true,false,null,"x\u00e9\n"]}"#,
            "0",
            "-0.0",
            r#""""#,
            "[]",
            " {} ",
        ] {
            assert!(p(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn rejects_what_rfc_8259_forbids() {
        for &bad in crate::json::scan::tests::REJECTS {
            let e = p(bad).expect_err(bad);
            assert_eq!(e.code, ErrorCode::Syntax, "{bad}: {e}");
            assert!(e.message.starts_with("line "), "{bad}: {e}");
            assert!(e.position.is_some(), "{bad}: {e}");
        }
        let e = parse_bytes(b"[\"\xff\"]".to_vec(), &ParseLimits::default()).unwrap_err();
        assert_eq!(e.code, ErrorCode::Syntax);
        assert_eq!(e.position.map(|p| p.offset), Some(2));
    }

    #[test]
    fn reports_line_and_column() {
        let e = p("{\n  \"a\": 1,\n  \"b\": ]\n}").unwrap_err();
        assert!(e.message.starts_with("line 3 column 8: "), "{e}");
        let at = e.position.unwrap();
        assert_eq!((at.line, at.column, at.offset), (3, 8, 19));
    }

    #[test]
    fn deep_nesting_is_a_limit_not_a_crash() {
        let deep = "[".repeat(100_000) + &"]".repeat(100_000);
        assert_eq!(p(&deep).unwrap_err().code, ErrorCode::LimitExceeded);
        let ok = "[".repeat(500) + &"]".repeat(500);
        assert!(p(&ok).is_ok());
        let strings = format!("[\"{}\"]", "[".repeat(10_000));
        assert!(p(&strings).is_ok(), "brackets inside strings do not count");
    }

    #[test]
    fn keeps_key_order() {
        let v = p(r#"{"z":1,"a":2,"m":3}"#).unwrap();
        assert_eq!(serde_json::to_string(&v).unwrap(), r#"{"z":1,"a":2,"m":3}"#);
    }
}
