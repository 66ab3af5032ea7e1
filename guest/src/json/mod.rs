//! JSON for large documents: strict parsing (`scan` checks, simd-json builds
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
    if !pointer.is_empty() && !pointer.starts_with('/') {
        return Err(crate::Error::invalid(format!(
            "invalid JSON pointer {pointer:?}: it must be empty or start with '/'"
        )));
    }
    Ok(value.pointer(pointer))
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
