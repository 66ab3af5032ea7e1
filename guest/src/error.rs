//! The one error type of the guest logic. Its codes mirror the WIT
//! `error-code` enum one to one, so the export layer is a plain mapping.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    Corrupt,
    Truncated,
    WrongSource,
    ChecksumMismatch,
    LimitExceeded,
    Unsupported,
    InvalidArgument,
    Io,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub code: ErrorCode,
    pub message: String,
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Error {
            code,
            message: message.into(),
        }
    }
    pub fn corrupt(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Corrupt, message)
    }
    pub fn truncated(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Truncated, message)
    }
    pub fn unsupported(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Unsupported, message)
    }
    pub fn limit(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::LimitExceeded, message)
    }
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidArgument, message)
    }
    /// An I/O error, with what we were doing when it happened. Running out
    /// of memory while buffering (std reports it as an I/O error kind) is a
    /// limit, not an I/O failure.
    pub fn io(context: &str, err: std::io::Error) -> Self {
        if err.kind() == std::io::ErrorKind::OutOfMemory {
            return Self::limit(format!("out of memory while {context}"));
        }
        Self::new(ErrorCode::Io, format!("{context}: {err}"))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}: {}", self.code, self.message)
    }
}

impl std::error::Error for Error {}
