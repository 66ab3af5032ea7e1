//! The `json` interface on the Rust host: Python arguments to WIT types.

use pyo3::prelude::*;
use pyo3::types::PyString;

use super::bindings::exports::oms::accel::json::{Draft, JsonType, ParseOptions, Violation};
use super::{WasmInstance, WasmResource};
use crate::buffer::Input;
use crate::errors;

const ERROR: &str = "JsonError";
const DOCUMENT: &str = "document";
const SCHEMA: &str = "schema";
const READER: &str = "ndjson-reader";

/// JSON text as the caller has it: a `str` (its UTF-8 form, which CPython
/// keeps for ASCII text) or UTF-8 bytes of any bytes-like object, which go
/// into guest memory as they are, never through a Python `str`.
pub enum Text<'py> {
    Str(Bound<'py, PyString>),
    Bytes(Input<'py>),
}

impl<'py> FromPyObject<'_, 'py> for Text<'py> {
    type Error = PyErr;

    fn extract(obj: Borrowed<'_, 'py, PyAny>) -> PyResult<Self> {
        match obj.cast::<PyString>() {
            Ok(s) => Ok(Text::Str(s.to_owned())),
            Err(_) => Ok(Text::Bytes(obj.extract()?)),
        }
    }
}

impl Text<'_> {
    /// The text, checked to be UTF-8 (an invalid byte is a JsonError at its
    /// line and column, raised by the one function that words it for every
    /// backend: `oms_accel.json._backend.decode_utf8`).
    fn as_str(&self, py: Python<'_>) -> PyResult<&str> {
        match self {
            Text::Str(s) => s.to_str(),
            Text::Bytes(b) => std::str::from_utf8(b.as_slice()).or_else(|_| {
                let view = pyo3::types::PyBytes::new(py, b.as_slice());
                py.import("oms_accel.json._backend")?
                    .getattr("decode_utf8")?
                    .call1((view,))?;
                Err(errors::argument_error(py, "invalid UTF-8"))
            }),
        }
    }
}

fn options(max_depth: u32, max_size: u64) -> ParseOptions {
    ParseOptions {
        max_depth,
        max_size,
    }
}

/// A document parsed from JSON text.
#[pyfunction]
pub fn wasm_json_parse(
    py: Python<'_>,
    inst: &WasmInstance,
    text: Text<'_>,
    max_depth: u32,
    max_size: u64,
) -> PyResult<WasmResource> {
    let text = text.as_str(py)?;
    let opts = options(max_depth, max_size);
    let shared = inst.shared();
    shared.call_resource(py, ERROR, DOCUMENT, |store, accel| {
        accel
            .oms_accel_json()
            .document()
            .call_parse(store, text, opts)
    })
}

/// JSON text of the value at `pointer`, or None.
#[pyfunction]
pub fn wasm_document_get(
    py: Python<'_>,
    doc: &WasmResource,
    pointer: &str,
) -> PyResult<Option<String>> {
    let h = doc.handle(py, DOCUMENT)?;
    doc.shared().call(py, ERROR, |store, accel| {
        accel
            .oms_accel_json()
            .document()
            .call_get(store, h, pointer)
    })
}

/// The JSON type at `pointer` ("null", "boolean", ..., "object"), or None.
#[pyfunction]
pub fn wasm_document_kind(
    py: Python<'_>,
    doc: &WasmResource,
    pointer: &str,
) -> PyResult<Option<&'static str>> {
    let h = doc.handle(py, DOCUMENT)?;
    let kind = doc.shared().call(py, ERROR, |store, accel| {
        accel
            .oms_accel_json()
            .document()
            .call_kind(store, h, pointer)
    })?;
    Ok(kind.map(|k| match k {
        JsonType::Null => "null",
        JsonType::Boolean => "boolean",
        JsonType::Number => "number",
        JsonType::String => "string",
        JsonType::Array => "array",
        JsonType::Object => "object",
    }))
}

#[pyfunction]
pub fn wasm_document_length(
    py: Python<'_>,
    doc: &WasmResource,
    pointer: &str,
) -> PyResult<Option<u64>> {
    let h = doc.handle(py, DOCUMENT)?;
    doc.shared().call(py, ERROR, |store, accel| {
        accel
            .oms_accel_json()
            .document()
            .call_length(store, h, pointer)
    })
}

#[pyfunction]
pub fn wasm_document_keys(
    py: Python<'_>,
    doc: &WasmResource,
    pointer: &str,
) -> PyResult<Option<Vec<String>>> {
    let h = doc.handle(py, DOCUMENT)?;
    doc.shared().call(py, ERROR, |store, accel| {
        accel
            .oms_accel_json()
            .document()
            .call_keys(store, h, pointer)
    })
}

#[pyfunction]
pub fn wasm_document_to_text(py: Python<'_>, doc: &WasmResource, pretty: bool) -> PyResult<String> {
    let h = doc.handle(py, DOCUMENT)?;
    doc.shared().call(py, ERROR, |store, accel| {
        accel
            .oms_accel_json()
            .document()
            .call_to_text(store, h, pretty)
            .map(Ok)
    })
}

fn draft(py: Python<'_>, name: Option<&str>) -> PyResult<Option<Draft>> {
    Ok(Some(match name {
        None => return Ok(None),
        Some("4") => Draft::Draft4,
        Some("6") => Draft::Draft6,
        Some("7") => Draft::Draft7,
        Some("2019-09") => Draft::Draft201909,
        Some("2020-12") => Draft::Draft202012,
        Some(other) => {
            return Err(errors::argument_error(
                py,
                format!("unknown JSON Schema draft {other:?}"),
            ))
        }
    }))
}

/// A schema compiled from JSON text; `resources` are (URI, text) pairs.
#[pyfunction]
#[pyo3(signature = (inst, text, draft_name, resources, max_depth, max_size))]
pub fn wasm_schema_compile(
    py: Python<'_>,
    inst: &WasmInstance,
    text: Text<'_>,
    draft_name: Option<&str>,
    resources: Vec<(String, String)>,
    max_depth: u32,
    max_size: u64,
) -> PyResult<WasmResource> {
    let text = text.as_str(py)?;
    let d = draft(py, draft_name)?;
    let opts = options(max_depth, max_size);
    let shared = inst.shared();
    shared.call_resource(py, ERROR, SCHEMA, |store, accel| {
        accel
            .oms_accel_json()
            .schema()
            .call_compile(store, text, d, &resources, opts)
    })
}

/// A violation as Python takes it: (instance path, schema path, message).
fn tuples(found: Vec<Violation>) -> Vec<(String, String, String)> {
    found
        .into_iter()
        .map(|v| (v.instance_path, v.schema_path, v.message))
        .collect()
}

/// (instance path, schema path, message) of each violation of `schema` by `doc`.
#[pyfunction]
pub fn wasm_schema_validate(
    py: Python<'_>,
    schema: &WasmResource,
    doc: &WasmResource,
) -> PyResult<Vec<(String, String, String)>> {
    let (s, d) = pair(py, schema, doc)?;
    let found = schema.shared().call(py, ERROR, |store, accel| {
        accel
            .oms_accel_json()
            .schema()
            .call_validate(store, s, d)
            .map(Ok)
    })?;
    Ok(tuples(found))
}

/// `wasm_schema_validate` of JSON text, parsed in the guest for the occasion.
#[pyfunction]
pub fn wasm_schema_validate_text(
    py: Python<'_>,
    schema: &WasmResource,
    text: Text<'_>,
    max_depth: u32,
    max_size: u64,
) -> PyResult<Vec<(String, String, String)>> {
    let s = schema.handle(py, SCHEMA)?;
    let text = text.as_str(py)?;
    let opts = options(max_depth, max_size);
    let found = schema.shared().call(py, ERROR, |store, accel| {
        accel
            .oms_accel_json()
            .schema()
            .call_validate_text(store, s, text, opts)
    })?;
    Ok(tuples(found))
}

/// `wasm_schema_is_valid` of JSON text, read in the guest for the occasion.
#[pyfunction]
pub fn wasm_schema_is_valid_text(
    py: Python<'_>,
    schema: &WasmResource,
    text: Text<'_>,
    max_depth: u32,
    max_size: u64,
) -> PyResult<bool> {
    let s = schema.handle(py, SCHEMA)?;
    let text = text.as_str(py)?;
    let opts = options(max_depth, max_size);
    schema.shared().call(py, ERROR, |store, accel| {
        accel
            .oms_accel_json()
            .schema()
            .call_is_valid_text(store, s, text, opts)
    })
}

#[pyfunction]
pub fn wasm_schema_is_valid(
    py: Python<'_>,
    schema: &WasmResource,
    doc: &WasmResource,
) -> PyResult<bool> {
    let (s, d) = pair(py, schema, doc)?;
    schema.shared().call(py, ERROR, |store, accel| {
        accel
            .oms_accel_json()
            .schema()
            .call_is_valid(store, s, d)
            .map(Ok)
    })
}

/// The handles of a schema and a document of the same instance.
fn pair(
    py: Python<'_>,
    schema: &WasmResource,
    doc: &WasmResource,
) -> PyResult<(
    wasmtime::component::ResourceAny,
    wasmtime::component::ResourceAny,
)> {
    if !std::sync::Arc::ptr_eq(schema.shared(), doc.shared()) {
        return Err(errors::argument_error(
            py,
            "the schema and the document belong to different component instances",
        ));
    }
    Ok((schema.handle(py, SCHEMA)?, doc.handle(py, DOCUMENT)?))
}

/// The text functions of two documents: diff, apply-patch, merge-patch.
#[pyfunction]
pub fn wasm_json_binary(
    py: Python<'_>,
    inst: &WasmInstance,
    name: &str,
    a: Text<'_>,
    b: Text<'_>,
    max_depth: u32,
    max_size: u64,
) -> PyResult<String> {
    let (a, b) = (a.as_str(py)?, b.as_str(py)?);
    let opts = options(max_depth, max_size);
    let op = match name {
        "diff" => 0,
        "apply-patch" => 1,
        "merge-patch" => 2,
        other => {
            return Err(errors::argument_error(
                py,
                format!("no JSON function {other:?}"),
            ))
        }
    };
    inst.shared().call(py, ERROR, |store, accel| {
        let json = accel.oms_accel_json();
        match op {
            0 => json.call_diff(store, a, b, opts),
            1 => json.call_apply_patch(store, a, b, opts),
            _ => json.call_merge_patch(store, a, b, opts),
        }
    })
}

/// RFC 8785 canonical form of `doc`.
#[pyfunction]
pub fn wasm_json_canonicalize(
    py: Python<'_>,
    inst: &WasmInstance,
    doc: Text<'_>,
    max_depth: u32,
    max_size: u64,
) -> PyResult<String> {
    let doc = doc.as_str(py)?;
    let opts = options(max_depth, max_size);
    inst.shared().call(py, ERROR, |store, accel| {
        accel.oms_accel_json().call_canonicalize(store, doc, opts)
    })
}

/// An NDJSON reader of a guest path, validating against `schema` (of the same instance) if given.
#[pyfunction]
#[pyo3(signature = (inst, path, schema, fields, max_depth, max_size))]
pub fn wasm_ndjson_open(
    py: Python<'_>,
    inst: &WasmInstance,
    path: &str,
    schema: Option<&WasmResource>,
    fields: Vec<String>,
    max_depth: u32,
    max_size: u64,
) -> PyResult<WasmResource> {
    let shared = inst.shared();
    let s = match schema {
        Some(s) if std::sync::Arc::ptr_eq(s.shared(), shared) => Some(s.handle(py, SCHEMA)?),
        Some(_) => {
            return Err(errors::argument_error(
                py,
                "the schema belongs to another component instance",
            ))
        }
        None => None,
    };
    let opts = options(max_depth, max_size);
    shared.call_resource(py, ERROR, READER, |store, accel| {
        accel
            .oms_accel_json()
            .ndjson_reader()
            .call_open(store, path, s, &fields, opts)
    })
}

/// The next batch of at most `max_records`: (results, records, bytes read, finished).
#[pyfunction]
pub fn wasm_ndjson_next(
    py: Python<'_>,
    reader: &WasmResource,
    max_records: u32,
) -> PyResult<(String, u32, u64, bool)> {
    let h = reader.handle(py, READER)?;
    let b = reader.shared().call(py, ERROR, |store, accel| {
        accel
            .oms_accel_json()
            .ndjson_reader()
            .call_next_batch(store, h, max_records)
    })?;
    Ok((b.results, b.records, b.bytes_read, b.finished))
}
