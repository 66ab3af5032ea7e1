//! Zero-copy access to Python buffers.

use std::borrow::Cow;

use pyo3::buffer::PyBuffer;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::errors;

/// A read-only view of a bytes-like argument: `bytes` directly, anything
/// else (bytearray, memoryview, mmap, array) through the buffer protocol.
/// The Python side casts other item formats (numpy float arrays, ...) to
/// unsigned bytes with `memoryview.cast("B")`, which copies nothing.
pub enum Input<'py> {
    Bytes(Bound<'py, PyBytes>),
    Buffer(PyBuffer<u8>),
}

impl<'py> FromPyObject<'_, 'py> for Input<'py> {
    type Error = PyErr;

    fn extract(obj: Borrowed<'_, 'py, PyAny>) -> PyResult<Self> {
        if let Ok(b) = obj.cast::<PyBytes>() {
            return Ok(Input::Bytes(b.to_owned()));
        }
        let buf = PyBuffer::<u8>::get(&obj)?;
        if !buf.is_c_contiguous() {
            return Err(pyo3::exceptions::PyValueError::new_err(
                "buffer must be C-contiguous",
            ));
        }
        Ok(Input::Buffer(buf))
    }
}

impl Input<'_> {
    /// The bytes. Valid while `self` lives: a `PyBuffer` holds the exporter's
    /// buffer (and its lock, for bytearray) until dropped.
    pub fn as_slice(&self) -> &[u8] {
        match self {
            Input::Bytes(b) => b.as_bytes(),
            Input::Buffer(buf) => {
                let len = buf.len_bytes();
                if len == 0 {
                    return &[];
                }
                // SAFETY: the buffer is C-contiguous, `len` bytes long, and kept
                // alive by `buf`. Like python-zstandard and hashlib, we read it
                // with the GIL released; a caller mutating it from another thread
                // meanwhile gets unspecified output, which is their race.
                unsafe { std::slice::from_raw_parts(buf.buf_ptr() as *const u8, len) }
            }
        }
    }
}

/// `bytes` as values of `T` (a plain number type): borrowed when aligned.
pub fn values<'a, T: Copy + Default>(
    py: Python<'_>,
    bytes: &'a [u8],
    what: &str,
) -> PyResult<Cow<'a, [T]>> {
    let size = std::mem::size_of::<T>();
    if !bytes.len().is_multiple_of(size) {
        return Err(errors::argument_error(
            py,
            format!(
                "{what}: {} bytes is not a whole number of {size}-byte values",
                bytes.len()
            ),
        ));
    }
    let n = bytes.len() / size;
    if bytes.as_ptr().align_offset(std::mem::align_of::<T>()) == 0 {
        // SAFETY: aligned, `n * size` bytes long, and every bit pattern is a
        // valid f32 or u64 (the only types this is used with).
        return Ok(Cow::Borrowed(unsafe {
            std::slice::from_raw_parts(bytes.as_ptr().cast::<T>(), n)
        }));
    }
    let mut out = vec![T::default(); n];
    // SAFETY: `out` holds exactly `bytes.len()` bytes; the regions are distinct.
    unsafe {
        std::ptr::copy_nonoverlapping(bytes.as_ptr(), out.as_mut_ptr().cast::<u8>(), bytes.len())
    };
    Ok(Cow::Owned(out))
}
