//! Raising the package's exceptions (defined once, in `oms_accel.errors`).

use pyo3::prelude::*;

/// `oms_accel.errors.<class>(message, code)` as a `PyErr`.
pub fn raise(py: Python<'_>, class: &str, message: impl Into<String>, code: &str) -> PyErr {
    let build = || -> PyResult<PyErr> {
        let cls = py.import("oms_accel.errors")?.getattr(class)?;
        Ok(PyErr::from_value(cls.call1((message.into(), code))?))
    };
    build().unwrap_or_else(|e| e)
}

pub fn limit_error(py: Python<'_>, message: impl Into<String>) -> PyErr {
    raise(py, "LimitError", message, "limit-exceeded")
}

pub fn argument_error(py: Python<'_>, message: impl Into<String>) -> PyErr {
    raise(py, "AccelArgumentError", message, "invalid-argument")
}

/// The exception for an error `code` (a WIT `error-code` name) of
/// `capability` (`DeltaError`, `JsonError`, ...): `errors.from_code`
/// picks the class, so the mapping lives in one place.
pub fn from_code(
    py: Python<'_>,
    code: &str,
    message: &str,
    capability: &str,
    position: Option<(u64, u32, u32)>,
) -> PyErr {
    let build = || -> PyResult<PyErr> {
        let errs = py.import("oms_accel.errors")?;
        let class = errs.getattr(capability)?;
        let exc = errs
            .getattr("from_code")?
            .call1((code, message, class, position))?;
        Ok(PyErr::from_value(exc))
    };
    build().unwrap_or_else(|err| err)
}

/// A refusal of the C codecs (`oms_accel_codecs`), as `capability`'s
/// error or the type its code names.
pub fn codec_error(py: Python<'_>, e: oms_accel_codecs::Error, capability: &str) -> PyErr {
    from_code(py, e.kind.code(), &e.message, capability, None)
}

/// An error of the guest's logic run natively (not through the component).
pub fn guest_error(py: Python<'_>, e: oms_accel_guest::Error, capability: &str) -> PyErr {
    let position = e.position.map(|p| (p.offset, p.line, p.column));
    from_code(py, e.code.name(), &e.message, capability, position)
}
