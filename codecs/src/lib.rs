//! The C codecs the WASM component cannot reach (zstd, the xdelta3
//! library), behind safe functions that hold the package's limits: an
//! output cap checked before memory is taken, a window cap, checksums
//! required where they are the only proof of the right source.
//!
//! Plain Rust with no Python, so that the same code is what `oms_accel._native`
//! calls (host-native maps [`Error`] to the package's exceptions) and what
//! the native fuzz targets (`fuzz/`) run.

pub mod fuzz;
pub mod xdelta;
pub mod zstd_frame;

use std::fmt;

/// What went wrong, as the package's error codes name it (`oms_accel.errors`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// The input is not valid for its format (or a delta met the wrong source).
    Corrupt,
    /// The input ends before its format says it does.
    Truncated,
    /// A valid input using a feature we refuse (a frame without its size).
    Unsupported,
    /// A delta with no checksum, decoded with verification on.
    Unverified,
    /// The output would pass the caller's cap.
    Limit,
    /// An argument out of range.
    Argument,
    /// The C library failed in a way no input should cause.
    Internal,
}

impl ErrorKind {
    /// The error code (`err.code` in Python).
    pub fn code(self) -> &'static str {
        match self {
            ErrorKind::Corrupt => "corrupt",
            ErrorKind::Truncated => "truncated",
            ErrorKind::Unsupported => "unsupported",
            ErrorKind::Unverified => "unverified",
            ErrorKind::Limit => "limit-exceeded",
            ErrorKind::Argument => "invalid-argument",
            ErrorKind::Internal => "internal",
        }
    }
}

/// A refusal, with a message for the user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    pub kind: ErrorKind,
    pub message: String,
}

impl Error {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.message, self.kind.code())
    }
}

impl std::error::Error for Error {}

pub type Result<T> = std::result::Result<T, Error>;
