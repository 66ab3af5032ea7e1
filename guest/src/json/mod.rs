//! JSON for large documents: strict parsing (`scan` checks, serde_json builds
//! the DOM), RFC 6901 lookups,
//! JSON Schema validation (the `jsonschema` crate), RFC 6902 / 7396 patches
//! (the `json-patch` crate), RFC 8785 canonical form, and NDJSON streams.
//!
//! The document model is `serde_json::Value` with insertion order kept
//! (feature `preserve_order`): it is what `jsonschema` and `json-patch` take,
//! and what `to_text` prints back in the order it was read.

pub mod canonical;
pub mod document;
pub mod navigate;
pub mod ndjson;
pub mod parse;
pub mod patch;
pub mod scan;
pub mod schema;
pub mod tape;

pub use document::{Document, Kind};
pub use parse::{parse, parse_bytes, ParseLimits};
pub use schema::{Draft, Schema, Violation};

use serde_json::Value;

/// The JSON type of a value, as the WIT enum names it.
pub fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// The value at an RFC 6901 pointer (`""` is the whole document).
pub fn get<'a>(value: &'a Value, pointer: &str) -> crate::Result<Option<&'a Value>> {
    check_pointer(pointer)?;
    Ok(value.pointer(pointer))
}

/// An RFC 6901 pointer is empty or starts with '/'; every other string is
/// refused (a `~` not followed by 0 or 1 simply matches no member).
pub fn check_pointer(pointer: &str) -> crate::Result<()> {
    if !pointer.is_empty() && !pointer.starts_with('/') {
        return Err(crate::Error::invalid(format!(
            "invalid JSON pointer {pointer:?}: it must be empty or start with '/'"
        )));
    }
    Ok(())
}

/// The operations on JSON text that the component exports: every input is
/// parsed under `limits`, so depth and size limits hold for them as for a
/// document.
pub mod text {
    use super::{canonical, parse, patch, to_text, ParseLimits};
    use crate::Result;

    /// The RFC 6902 patch turning `a` into `b`, as JSON text.
    pub fn diff(a: String, b: String, limits: &ParseLimits) -> Result<String> {
        Ok(to_text(
            &patch::diff(&parse(a, limits)?, &parse(b, limits)?),
            false,
        ))
    }

    /// `doc` with the RFC 6902 `ops` applied.
    pub fn apply_patch(doc: String, ops: String, limits: &ParseLimits) -> Result<String> {
        let mut doc = parse(doc, limits)?;
        patch::apply(&mut doc, &parse(ops, limits)?)?;
        Ok(to_text(&doc, false))
    }

    /// `doc` with the RFC 7396 `merge` patch applied.
    pub fn merge_patch(doc: String, merge: String, limits: &ParseLimits) -> Result<String> {
        let mut doc = parse(doc, limits)?;
        patch::merge(&mut doc, &parse(merge, limits)?);
        Ok(to_text(&doc, false))
    }

    /// The RFC 8785 canonical form of `doc`, from its text (no DOM).
    pub fn canonicalize(doc: String, limits: &ParseLimits) -> Result<String> {
        canonical::canonicalize_text(&doc, limits)
    }

    #[cfg(test)]
    mod tests {
        use super::*;
        use crate::ErrorCode;

        #[test]
        fn every_input_is_parsed_under_the_limits() {
            let limits = ParseLimits::or_default(2, 64);
            let deep = "[[[1]]]".to_string();
            let ok = "[1]".to_string();
            let big = format!("[\"{}\"]", "x".repeat(100));
            for (a, b) in [(deep.clone(), ok.clone()), (ok.clone(), deep.clone())] {
                assert_eq!(
                    diff(a, b, &limits).unwrap_err().code,
                    ErrorCode::LimitExceeded
                );
            }
            let e = apply_patch(ok.clone(), big.clone(), &limits).unwrap_err();
            assert_eq!(e.code, ErrorCode::LimitExceeded);
            let e = merge_patch(deep.clone(), ok.clone(), &limits).unwrap_err();
            assert_eq!(e.code, ErrorCode::LimitExceeded);
            assert_eq!(
                canonicalize(big, &limits).unwrap_err().code,
                ErrorCode::LimitExceeded
            );
            assert_eq!(canonicalize("[1,{}]".into(), &limits).unwrap(), "[1,{}]");
            assert_eq!(
                diff(ok.clone(), "[2]".into(), &limits).unwrap(),
                r#"[{"op":"replace","path":"/0","value":2}]"#
            );
        }

        #[test]
        fn patch_errors_say_which_kind() {
            let limits = ParseLimits::default();
            let e = apply_patch("{}".into(), r#"{"op":"add"}"#.into(), &limits).unwrap_err();
            assert_eq!(e.code, ErrorCode::InvalidPatch);
            let e = apply_patch(
                "{}".into(),
                r#"[{"op":"remove","path":"/x"}]"#.into(),
                &limits,
            )
            .unwrap_err();
            assert_eq!(e.code, ErrorCode::PatchFailed);
            let e = apply_patch("{".into(), "[]".into(), &limits).unwrap_err();
            assert_eq!(e.code, ErrorCode::Syntax);
        }
    }
}

/// JSON text of `value`, compact or indented by two spaces.
pub fn to_text(value: &Value, pretty: bool) -> String {
    if pretty {
        serde_json::to_string_pretty(value)
    } else {
        serde_json::to_string(value)
    }
    .expect("a Value always serializes")
}
