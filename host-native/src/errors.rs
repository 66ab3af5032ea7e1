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

pub fn delta_error(py: Python<'_>, message: impl Into<String>, code: &str) -> PyErr {
    raise(py, "DeltaError", message, code)
}

pub fn compression_error(py: Python<'_>, message: impl Into<String>, code: &str) -> PyErr {
    raise(py, "CompressionError", message, code)
}

pub fn limit_error(py: Python<'_>, message: impl Into<String>) -> PyErr {
    raise(py, "LimitError", message, "limit-exceeded")
}

pub fn argument_error(py: Python<'_>, message: impl Into<String>) -> PyErr {
    raise(py, "AccelArgumentError", message, "invalid-argument")
}
