//! The WIT export layer (wasm32 only): maps the `oms:accel` world onto the
//! plain Rust modules. No logic lives here beyond argument conversion.

mod delta;
mod json;

use crate::{Error, ErrorCode};

/// talc, not std's dlmalloc: parsing and dropping a large JSON document are
/// dominated by small allocations, where it is several times faster.
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();

wit_bindgen::generate!({ world: "accel", path: "../wit" });

use oms::accel::types;

struct Component;
export!(Component);

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
        };
        types::Error {
            code,
            message: e.message,
        }
    }
}
