//! RFC 8785 JSON Canonicalization Scheme: keys sorted by UTF-16 code units,
//! no insignificant whitespace, numbers as ECMAScript prints them.
//!
//! Two ways to the same bytes. `canonicalize` serializes a DOM (what
//! `serde_json_canonicalizer` does, for values already parsed).
//! `canonicalize_text` works from the text and its structural index, with no
//! DOM: its memory is the index and the output, about 2x the text where a
//! DOM of small values costs 6-10x (a 60 MiB document once peaked at 828 MiB).

use super::navigate::{decode_string, Structure};
use super::parse::{index, ParseLimits};
use crate::{Error, Result};
use serde_json::Value;

pub fn canonicalize(value: &Value) -> Result<String> {
    serde_json_canonicalizer::to_string(value)
        .map_err(|e| Error::invalid(format!("cannot canonicalize: {e}")))
}

/// The canonical form of JSON text, checked under `limits` as any parse is.
pub fn canonicalize_text(text: &[u8], limits: &ParseLimits) -> Result<String> {
    let s = index(text, limits, Structure::new)?;
    let mut out = String::with_capacity(text.len());
    write_value(&s, text, 0, &mut out);
    Ok(out)
}

/// Appends the value in slot `k`. The scan accepted the text, so every
/// token is well formed and every number within a double's range.
fn write_value(s: &Structure, text: &[u8], k: usize, out: &mut String) {
    match s.byte(text, k) {
        b'{' => {
            let mut members: Vec<(Vec<u16>, String, usize)> = Vec::new();
            s.each(text, k, |key, value| {
                let key = decode_string(key.expect("an object member"));
                members.push((key.encode_utf16().collect(), key, value));
                true
            });
            // By UTF-16 code units; of duplicate keys the last wins, as in a
            // parsed document (the sort is stable).
            members.sort_by(|a, b| a.0.cmp(&b.0));
            out.push('{');
            let mut first = true;
            for (i, (units, key, value)) in members.iter().enumerate() {
                if members.get(i + 1).is_some_and(|next| &next.0 == units) {
                    continue;
                }
                if !first {
                    out.push(',');
                }
                first = false;
                write_string(key, out);
                out.push(':');
                write_value(s, text, *value, out);
            }
            out.push('}');
        }
        b'[' => {
            out.push('[');
            let mut first = true;
            s.each(text, k, |_, value| {
                if !first {
                    out.push(',');
                }
                first = false;
                write_value(s, text, value, out);
                true
            });
            out.push(']');
        }
        b'"' => {
            let (a, b) = s.range(text, k);
            write_string(&decode_string(&text[a..b]), out);
        }
        b't' => out.push_str("true"),
        b'f' => out.push_str("false"),
        b'n' => out.push_str("null"),
        _ => {
            let (a, b) = s.range(text, k);
            let literal = std::str::from_utf8(&text[a..b]).expect("a validated number");
            out.push_str(ryu_js::Buffer::new().format_finite(number(literal)));
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
fn write_string(s: &str, out: &mut String) {
    out.push('"');
    let mut from = 0;
    for (i, c) in s.char_indices() {
        let escape = match c {
            '"' => "\\\"",
            '\\' => "\\\\",
            '\u{8}' => "\\b",
            '\u{c}' => "\\f",
            '\n' => "\\n",
            '\r' => "\\r",
            '\t' => "\\t",
            c if (c as u32) < 0x20 => "",
            _ => continue,
        };
        out.push_str(&s[from..i]);
        if escape.is_empty() {
            out.push_str(&format!("\\u{:04x}", c as u32));
        } else {
            out.push_str(escape);
        }
        from = i + c.len_utf8();
    }
    out.push_str(&s[from..]);
    out.push('"');
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
            canonicalize_text(text.as_bytes(), &ParseLimits::default()).unwrap(),
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
            assert_eq!(canonicalize_text(text.as_bytes(), &limits).unwrap(), dom, "{text}");
        }
    }

    #[test]
    fn limits_and_errors_are_the_parses() {
        let deep = "[".repeat(600) + &"]".repeat(600);
        let e = canonicalize_text(deep.as_bytes(), &ParseLimits::default()).unwrap_err();
        assert_eq!(e.code, crate::ErrorCode::LimitExceeded);
        let e = canonicalize_text(b"[1,]", &ParseLimits::default()).unwrap_err();
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
            prop_assert_eq!(canonicalize_text(text.as_bytes(), &limits).unwrap(), dom);
        }
    }
}
