//! The WIT export layer (wasm32 only): maps the `oms:accel` world onto the
//! plain Rust modules. No logic lives here beyond argument conversion.

mod delta;
mod json;
mod vector;

use crate::{Error, ErrorCode, Position};

// The allocator is std's dlmalloc. talc (5.1) was faster on large documents
// but fragmented under the NDJSON reader's pattern of a growing batch string
// interleaved with small record allocations: linear memory grew without bound
// (about 45 MB per 100k records). Pre-sizing the parse's big buffers closed
// most of the speed gap instead.

wit_bindgen::generate!({ world: "accel", path: "../wit" });

use oms::accel::types;

struct Component;
export!(Component);

impl exports::oms::accel::instance::Guest for Component {
    fn memory_bytes() -> u64 {
        core::arch::wasm32::memory_size(0) as u64 * 65536
    }
}

impl From<Error> for types::Error {
    fn from(e: Error) -> Self {
        let code = match e.code {
            ErrorCode::Corrupt => types::ErrorCode::Corrupt,
            ErrorCode::Truncated => types::ErrorCode::Truncated,
            ErrorCode::WrongSource => types::ErrorCode::WrongSource,
            ErrorCode::ChecksumMismatch => types::ErrorCode::ChecksumMismatch,
            ErrorCode::LimitExceeded => types::ErrorCode::LimitExceeded,
            ErrorCode::Unsupported => types::ErrorCode::Unsupported,
            ErrorCode::InvalidArgument => types::ErrorCode::InvalidArgument,
            ErrorCode::Io => types::ErrorCode::Io,
            ErrorCode::Syntax => types::ErrorCode::Syntax,
            ErrorCode::InvalidSchema => types::ErrorCode::InvalidSchema,
            ErrorCode::InvalidPatch => types::ErrorCode::InvalidPatch,
            ErrorCode::PatchFailed => types::ErrorCode::PatchFailed,
            ErrorCode::Unverified => types::ErrorCode::Unverified,
        };
        types::Error {
            code,
            message: e.message,
            position: e.position.map(|p: Position| types::Position {
                offset: p.offset,
                line: p.line,
                column: p.column,
            }),
        }
    }
}
