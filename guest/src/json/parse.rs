//! Strict RFC 8259 parsing with simd-json: no trailing commas, leading
//! zeros, comments, NaN/Infinity, invalid UTF-8 or raw control characters.
//! Depth and size are limited before simd-json or serde ever recurse, so a
//! hostile document is an error, never a stack overflow.

use crate::{Error, ErrorCode, Result};
use serde_json::Value;

#[derive(Debug, Clone, Copy)]
pub struct ParseLimits {
    /// Deepest nesting of arrays and objects.
    pub max_depth: u32,
    /// Largest document, in bytes.
    pub max_size: u64,
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

/// Checks that `text` is strict RFC 8259 JSON within the size limit,
/// without building values, and hands simd-json's structural index of it
/// (the offsets `navigate::Structure` is built from) to `with_index`.
/// simd-json works in place, so it runs on a copy.
pub fn validate<T>(
    text: &[u8],
    limits: &ParseLimits,
    with_index: impl FnOnce(&[u32]) -> Result<T>,
) -> Result<T> {
    check_size(text.len(), limits)?;
    // simd-json's buffers are kept between parses of documents up to
    // REUSE_LIMIT: growing them again for every document costs a fifth of
    // the parse. Keeping them holds no extra memory in practice: a wasm
    // instance's linear memory never shrinks once grown.
    let reuse = text.len() <= REUSE_LIMIT;
    let mut buffers = if reuse {
        BUFFERS.with(|b| b.take())
    } else {
        None
    }
    .unwrap_or_else(|| simd_json::Buffers::new(text.len()));
    let mut copy = text.to_vec();
    // Sized for about one value per 8 bytes of text, so that the tape is
    // rarely reallocated (and copied) as it grows.
    let mut tape = simd_json::Tape(Vec::with_capacity(text.len() / 8));
    let result = match simd_json::fill_tape(&mut copy, &mut buffers, &mut tape) {
        Ok(()) => {
            drop(tape);
            drop(copy);
            with_index(buffers.structural_indexes())
        }
        Err(e) => Err(explain(text, &e)),
    };
    if reuse {
        BUFFERS.with(|b| b.set(Some(buffers)));
    }
    result
}

const REUSE_LIMIT: usize = 64 << 20;

thread_local! {
    static BUFFERS: std::cell::Cell<Option<simd_json::Buffers>> = const { std::cell::Cell::new(None) };
}

/// The error for text simd-json rejected. simd-json's structural errors are
/// terse ("Syntax" at the end of the input), so where serde_json (as strict,
/// and only run on this error path) also rejects the text, its message and
/// position are used instead.
fn explain(text: &[u8], e: &simd_json::Error) -> Error {
    use serde_json::error::Category;
    match serde_json::from_slice::<serde::de::IgnoredAny>(text) {
        // (serde_json stops at 128 levels: that is no syntax error of the text.)
        Err(se)
            if matches!(se.classify(), Category::Syntax | Category::Eof)
                && !se.to_string().starts_with("recursion limit") =>
        {
            let full = se.to_string();
            let what = full
                .rsplit_once(" at line ")
                .map_or(full.as_str(), |(w, _)| w);
            Error::new(
                ErrorCode::Corrupt,
                format!("line {} column {}: {what}", se.line(), se.column().max(1)),
            )
        }
        _ => syntax_error(text, e.index(), &describe(e.error())),
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
    parse_bytes(text.into_bytes(), limits)
}

/// Parses JSON bytes (UTF-8 is checked). simd-json works in place, so it
/// takes the buffer.
pub fn parse_bytes(bytes: Vec<u8>, limits: &ParseLimits) -> Result<Value> {
    check_size(bytes.len(), limits)?;
    check_depth(&bytes, limits.max_depth)?;
    build(bytes)
}

/// The DOM of JSON whose depth is already known to be within limits
/// (building it recurses).
pub(crate) fn build(mut bytes: Vec<u8>) -> Result<Value> {
    match simd_json::serde::from_slice::<Value>(&mut bytes) {
        Ok(v) => Ok(v),
        Err(e) => {
            let offset = e.index();
            Err(syntax_error(&bytes, offset, &describe(e.error())))
        }
    }
}

/// simd-json's error kind in words: `ExpectedArrayComma` becomes
/// "expected array comma" (its Debug form is the only text it offers).
fn describe(kind: &simd_json::ErrorType) -> String {
    let debug = format!("{kind:?}");
    let name: String = debug.chars().take_while(|c| c.is_alphanumeric()).collect();
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            out.push(' ');
        }
        out.push(c.to_ascii_lowercase());
    }
    let detail = &debug[name.len()..];
    if detail.is_empty() {
        out
    } else {
        format!("{out} {detail}")
    }
}

/// A syntax error with the line and column (1-based, in characters) of
/// byte `offset`. Callers parse the message: "line L column C: what".
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
        ErrorCode::Corrupt,
        format!("line {line} column {column}: {what}"),
    )
}

/// Refuses nesting deeper than `max` in one pass over the bytes, skipping
/// strings. Cheap next to parsing, and it keeps every later recursion bounded.
fn check_depth(bytes: &[u8], max: u32) -> Result<()> {
    let mut depth = 0u32;
    let mut in_string = false;
    let mut escaped = false;
    for (i, &b) in bytes.iter().enumerate() {
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > max {
                    let e = syntax_error(bytes, i, &format!("nesting deeper than {max} levels"));
                    return Err(Error::new(ErrorCode::LimitExceeded, e.message));
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
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
        for bad in [
            "[1,]",
            "{\"a\":1,}",
            "01",
            "[01]",
            "// c\n1",
            "/* c */ 1",
            "NaN",
            "[Infinity]",
            "[-Infinity]",
            "\"a\u{1}b\"",
            "\"tab\there\"",
            "[1 2]",
            "{'a':1}",
            "",
            " ",
            "[",
            "{\"a\"}",
            "1 2",
            "tru",
            "\"\\x\"",
        ] {
            let e = p(bad).expect_err(bad);
            assert_eq!(e.code, ErrorCode::Corrupt, "{bad}: {e}");
            assert!(e.message.starts_with("line "), "{bad}: {e}");
        }
        let e = parse_bytes(b"[\"\xff\"]".to_vec(), &ParseLimits::default()).unwrap_err();
        assert_eq!(e.code, ErrorCode::Corrupt);
    }

    #[test]
    fn reports_line_and_column() {
        let e = p("{\n  \"a\": 1,\n  \"b\": ]\n}").unwrap_err();
        assert!(e.message.starts_with("line 3 column "), "{e}");
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
