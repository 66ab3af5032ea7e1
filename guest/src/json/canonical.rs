//! RFC 8785 JSON Canonicalization Scheme: keys sorted by UTF-16 code units,
//! no insignificant whitespace, numbers as ECMAScript prints them.
//!
//! Two ways to the same bytes. `canonicalize` serializes a DOM (what
//! `serde_json_canonicalizer` does, for values already parsed).
//! `canonicalize_text` works from the text alone: after the strict scan has
//! accepted it, one pass writes the output, and an object whose members are
//! out of order is put in order where it was written. Its memory is the
//! output (plus, for an unsorted object, at most a copy of that object):
//! a DOM of small values costs 6-10x the text and a structural index 1.6x
//! (a 60 MiB document once peaked at 828 MiB).

use super::navigate::decode_string;
use super::parse::{check, ParseLimits};
use crate::{Error, Result};
use serde_json::Value;
use std::borrow::Cow;
use std::cmp::Ordering;

/// An unsorted object at least this large, with at most `ROTATE_MEMBERS`
/// members, is sorted by rotating its members into place: no copy of it,
/// and few enough passes over it. (The root object of a large document is
/// typically such an object: a few keys over megabytes.)
const ROTATE_FROM: usize = 1 << 20;
const ROTATE_MEMBERS: usize = 32;

pub fn canonicalize(value: &Value) -> Result<String> {
    serde_json_canonicalizer::to_string(value)
        .map_err(|e| Error::invalid(format!("cannot canonicalize: {e}")))
}

/// The canonical form of JSON text, checked under `limits` as any parse is.
pub fn canonicalize_text(text: &str, limits: &ParseLimits) -> Result<String> {
    check(text.as_bytes(), limits)?;
    let mut w = Writer {
        str: text,
        text: text.as_bytes(),
        at: 0,
        out: Vec::with_capacity(text.len()),
        members: Vec::new(),
    };
    w.value();
    Ok(String::from_utf8(w.out).expect("valid UTF-8 in, valid UTF-8 out"))
}

/// Writes the canonical form of text the scan accepted: every token is well
/// formed, every number within a double's range, the nesting within limits
/// (the writer recurses).
struct Writer<'t> {
    /// The text, and its bytes (a slice of `str` between ASCII delimiters
    /// is always valid UTF-8: no check is repeated).
    str: &'t str,
    text: &'t [u8],
    /// The next byte to read.
    at: usize,
    out: Vec<u8>,
    /// The members of the objects being written, innermost last (one
    /// buffer for all of them).
    members: Vec<Member<'t>>,
}

/// A member of an object as written: its key and the bytes `"key":value,`
/// in `out`.
struct Member<'t> {
    key: Cow<'t, str>,
    start: usize,
    end: usize,
}

/// RFC 8785's order of keys: by UTF-16 code units. That is the UTF-8 byte
/// order except where a character from U+E000 to U+FFFF meets one above
/// U+FFFF (whose surrogates sort first); no key is re-encoded to compare.
fn utf16_order(a: &str, b: &str) -> Ordering {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    match a.iter().zip(b).position(|(x, y)| x != y) {
        None => a.len().cmp(&b.len()),
        // Lead bytes 0xEE-0xEF start U+E000-U+FFFF, 0xF0-0xF4 the rest;
        // after a common prefix both bytes are leads or neither is.
        Some(i) if a[i] >= 0xEE && b[i] >= 0xEE && (a[i] >= 0xF0) != (b[i] >= 0xF0) => {
            b[i].cmp(&a[i])
        }
        Some(i) => a[i].cmp(&b[i]),
    }
}

impl<'t> Writer<'t> {
    fn skip_ws(&mut self) {
        while matches!(self.text[self.at], b' ' | b'\n' | b'\r' | b'\t') {
            self.at += 1;
        }
    }

    /// The byte after the next whitespace, consumed.
    fn next_byte(&mut self) -> u8 {
        self.skip_ws();
        self.at += 1;
        self.text[self.at - 1]
    }

    fn value(&mut self) {
        self.skip_ws();
        match self.text[self.at] {
            b'{' => self.object(),
            b'[' => self.array(),
            b'"' => {
                let s = self.string();
                write_string(&s, &mut self.out);
            }
            b't' => self.literal("true"),
            b'f' => self.literal("false"),
            b'n' => self.literal("null"),
            _ => self.number(),
        }
    }

    fn literal(&mut self, word: &str) {
        self.out.extend_from_slice(word.as_bytes());
        self.at += word.len();
    }

    fn number(&mut self) {
        let start = self.at;
        while matches!(
            self.text.get(self.at),
            Some(b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E')
        ) {
            self.at += 1;
        }
        let (str, text) = (self.str, self.text);
        let literal = &text[start..self.at];
        // An integer of at most 15 digits is a double printed as written
        // (JSON has no leading zeros), but for minus zero.
        if literal.len() <= 15 && literal.iter().all(|&b| b.is_ascii_digit() || b == b'-') {
            let negative_zero = literal == b"-0";
            self.out
                .extend_from_slice(if negative_zero { b"0" } else { literal });
            return;
        }
        let literal = &str[start..self.at];
        let mut buffer = ryu_js::Buffer::new();
        self.out
            .extend_from_slice(buffer.format_finite(number(literal)).as_bytes());
    }

    /// The string token at `at`, decoded (borrowed when it has no escape).
    fn string(&mut self) -> Cow<'t, str> {
        let text = self.text;
        let start = self.at;
        let mut i = start + 1;
        let mut escaped = false;
        loop {
            i += memchr::memchr2(b'"', b'\\', &text[i..]).expect("a closed string");
            if text[i] == b'"' {
                break;
            }
            escaped = true;
            i += 2;
        }
        self.at = i + 1;
        if escaped {
            Cow::Owned(decode_string(&text[start..=i]))
        } else {
            Cow::Borrowed(&self.str[start + 1..i])
        }
    }

    /// Writes the opening bracket at `at`; if the container is empty,
    /// writes and consumes its `close` too and returns true.
    fn open_empty(&mut self, close: u8) -> bool {
        self.out.push(self.text[self.at]);
        self.at += 1;
        self.skip_ws();
        let empty = self.text[self.at] == close;
        if empty {
            self.at += 1;
            self.out.push(close);
        }
        empty
    }

    fn array(&mut self) {
        if self.open_empty(b']') {
            return;
        }
        loop {
            self.value();
            if self.next_byte() == b']' {
                break;
            }
            self.out.push(b',');
        }
        self.out.push(b']');
    }

    fn object(&mut self) {
        if self.open_empty(b'}') {
            return;
        }
        let first = self.members.len();
        loop {
            self.skip_ws();
            let key = self.string();
            let start = self.out.len();
            write_string(&key, &mut self.out);
            self.next_byte(); // ':'
            self.out.push(b':');
            self.value();
            self.out.push(b',');
            let end = self.out.len();
            self.members.push(Member { key, start, end });
            if self.next_byte() == b'}' {
                break;
            }
        }
        self.order(first);
        self.members.truncate(first);
        // The last member's comma closes the object.
        *self.out.last_mut().expect("a member") = b'}';
    }

    /// Puts the members from `first` on, just written (the tail of `out`),
    /// in RFC 8785 order, keeping the last of duplicate keys as a parsed
    /// document does.
    fn order(&mut self, first: usize) {
        let members = &self.members[first..];
        if members
            .windows(2)
            .all(|w| utf16_order(&w[0].key, &w[1].key) == Ordering::Less)
        {
            return; // in order already, no duplicates: the common case
        }
        let mut sorted: Vec<usize> = (0..members.len()).collect();
        sorted.sort_by(|&a, &b| utf16_order(&members[a].key, &members[b].key)); // stable
        let keep: Vec<usize> = sorted
            .iter()
            .enumerate()
            .filter(|&(i, &m)| {
                sorted
                    .get(i + 1)
                    .is_none_or(|&next| members[next].key != members[m].key)
            })
            .map(|(_, &m)| m)
            .collect();
        let begin = members[0].start;
        if self.out.len() - begin >= ROTATE_FROM && members.len() <= ROTATE_MEMBERS {
            let mut spans: Vec<(usize, usize)> = members.iter().map(|m| (m.start, m.end)).collect();
            let mut front = begin;
            for &m in &keep {
                // Rotating [front, end) right by the member's length moves
                // it to `front` and the members before it up by as much.
                let (start, end) = spans[m];
                let len = end - start;
                self.out[front..end].rotate_right(len);
                for span in spans.iter_mut().filter(|s| s.0 >= front && s.1 <= start) {
                    *span = (span.0 + len, span.1 + len);
                }
                spans[m] = (front, front + len);
                front += len;
            }
            self.out.truncate(front); // what is left are the duplicates dropped
        } else {
            let written = self.out.split_off(begin);
            for &m in &keep {
                let Member { start, end, .. } = members[m];
                self.out
                    .extend_from_slice(&written[start - begin..end - begin]);
            }
        }
    }
}

/// A number literal as the double ECMAScript reads it (integers too: JSON
/// numbers are doubles to RFC 8785).
fn number(literal: &str) -> f64 {
    if literal.bytes().any(|b| matches!(b, b'.' | b'e' | b'E')) {
        literal.parse().expect("a validated number")
    } else if let Some(digits) = literal.strip_prefix('-') {
        -(digits.parse::<u64>().expect("a validated integer") as f64)
    } else {
        literal.parse::<u64>().expect("a validated integer") as f64
    }
}

/// A string as RFC 8785 writes it: only `"`, `\\` and control characters
/// escaped (the short escapes where JSON has them), everything else as is.
/// Every byte to escape is ASCII, so the bytes are scanned, not the chars.
fn write_string(s: &str, out: &mut Vec<u8>) {
    out.push(b'"');
    let bytes = s.as_bytes();
    let mut from = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escape: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            0x08 => b"\\b",
            0x0c => b"\\f",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0..=0x1f => b"",
            _ => continue,
        };
        out.extend_from_slice(&bytes[from..i]);
        if escape.is_empty() {
            out.extend_from_slice(format!("\\u{b:04x}").as_bytes());
        } else {
            out.extend_from_slice(escape);
        }
        from = i + 1;
    }
    out.extend_from_slice(&bytes[from..]);
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    #[test]
    fn rfc_8785_examples() {
        let v =
            json!({"b": [1e21, 1e-7, 0.5, -0.0, 1.0], "a": "\u{20ac}", "\u{e9}": null, "A": true});
        let want = "{\"A\":true,\"a\":\"\u{20ac}\",\"b\":[1e+21,1e-7,0.5,0,1],\"\u{e9}\":null}";
        assert_eq!(canonicalize(&v).unwrap(), want);
        let text = serde_json::to_string(&v).unwrap();
        assert_eq!(
            canonicalize_text(&text, &ParseLimits::default()).unwrap(),
            want
        );
    }

    #[test]
    fn the_text_way_matches_the_dom_way_on_edge_cases() {
        for text in [
            r#"{"b":1,"a":2,"b":3}"#,
            r#"{"\u00e9":1,"e":2,"\ud83d\ude00":3,"\uffff":4}"#,
            r#"["\u0000\u001f\u007f\/\"\\\b\f\n\r\t", "\u2028"]"#,
            "[-0, -0.0, 0.1, 1e308, 5e-324, 18446744073709551615, -9223372036854775808, 9007199254740993]",
            "[1E+2, 1e-0, 123456789012345678, 0.000001, 0.0000001, 1e21, 1e20]",
            " { \"a\" : [ { } , [ ] ] } ",
            "\"only a string\"",
            "3",
        ] {
            let limits = ParseLimits::default();
            let dom = canonicalize(&super::super::parse::parse(text.to_string(), &limits).unwrap()).unwrap();
            assert_eq!(canonicalize_text(text, &limits).unwrap(), dom, "{text}");
        }
    }

    #[test]
    fn large_objects_are_put_in_order_in_place_and_by_copy() {
        // Over ROTATE_FROM: few members are rotated, many are copied; with
        // duplicate keys (the last wins) and unsorted objects inside.
        let big = format!(
            "[{}]",
            vec!["{\"z\":1,\"y\":[2,{\"b\":0,\"a\":0}]}"; 40_000].join(",")
        );
        assert!(big.len() > ROTATE_FROM);
        let few = format!(r#"{{"c":{big},"a":1,"c":"last","b":{big},"\u00e9":{{"y":1,"x":2}}}}"#);
        let part = format!("[{}]", vec!["[0.5,\"x\"]"; ROTATE_FROM / 300].join(","));
        let many: Vec<String> = (0..ROTATE_MEMBERS + 5)
            .rev()
            .map(|i| format!(r#""k{i}":{part}"#))
            .collect();
        let many = format!("{{{},\"k3\":0}}", many.join(","));
        assert!(many.len() > ROTATE_FROM);
        let limits = ParseLimits::default();
        for text in [few, many] {
            let dom =
                canonicalize(&super::super::parse::parse(text.clone(), &limits).unwrap()).unwrap();
            assert_eq!(canonicalize_text(&text, &limits).unwrap(), dom);
        }
    }

    #[test]
    fn limits_and_errors_are_the_parses() {
        let deep = "[".repeat(600) + &"]".repeat(600);
        let e = canonicalize_text(&deep, &ParseLimits::default()).unwrap_err();
        assert_eq!(e.code, crate::ErrorCode::LimitExceeded);
        let e = canonicalize_text("[1,]", &ParseLimits::default()).unwrap_err();
        assert_eq!(e.code, crate::ErrorCode::Syntax);
    }

    fn arb_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(|n| json!(n)),
            any::<u64>().prop_map(|n| json!(n)),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(|f| json!(f)),
            "(?s).{0,8}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::vec(("(?s).{0,4}", inner), 0..6)
                    .prop_map(|kv| Value::Object(kv.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn the_text_way_matches_the_dom_way(v in arb_json(), pretty in any::<bool>()) {
            let text = if pretty { serde_json::to_string_pretty(&v) } else { serde_json::to_string(&v) }.unwrap();
            let limits = ParseLimits::default();
            let dom = canonicalize(&super::super::parse::parse(text.clone(), &limits).unwrap()).unwrap();
            prop_assert_eq!(canonicalize_text(&text, &limits).unwrap(), dom);
        }
    }
}
