//! RFC 6902 JSON Patch (diff and apply) with the `json-patch` crate, and
//! RFC 7396 JSON Merge Patch.

use crate::{Error, ErrorCode, Result};
use serde_json::Value;

/// A patch turning `a` into `b`, as an RFC 6902 array of operations.
pub fn diff(a: &Value, b: &Value) -> Value {
    serde_json::to_value(json_patch::diff(a, b)).expect("a patch always serializes")
}

/// `doc` with the RFC 6902 `patch` applied; on any failing operation the
/// document is left as it was (the crate applies atomically).
pub fn apply(doc: &mut Value, patch: &Value) -> Result<()> {
    let ops: json_patch::Patch = serde_json::from_value(patch.clone())
        .map_err(|e| Error::new(ErrorCode::InvalidPatch, format!("not a JSON Patch: {e}")))?;
    json_patch::patch(doc, &ops).map_err(|e| {
        Error::new(
            ErrorCode::PatchFailed,
            format!("the patch does not apply: {e}"),
        )
    })
}

/// `doc` with the RFC 7396 merge `patch` applied.
pub fn merge(doc: &mut Value, patch: &Value) {
    json_patch::merge(doc, patch)
}
