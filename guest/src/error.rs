//! The one error type of the guest logic. Its codes and its position mirror
//! the WIT `error-code` enum and `position` record one to one, so the export
//! layer is a plain mapping and no host ever reads a message to classify.

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
    /// JSON text that is not strict RFC 8259.
    Syntax,
    InvalidSchema,
    InvalidPatch,
    PatchFailed,
    /// Output nothing in the input lets us check (a VCDIFF window without a
    /// checksum), refused unless the caller opts out of verification.
    Unverified,
}

impl ErrorCode {
    /// The code's name in WIT, which the Python package's errors carry too.
    pub fn name(self) -> &'static str {
        match self {
            ErrorCode::Corrupt => "corrupt",
            ErrorCode::Truncated => "truncated",
            ErrorCode::WrongSource => "wrong-source",
            ErrorCode::ChecksumMismatch => "checksum-mismatch",
            ErrorCode::LimitExceeded => "limit-exceeded",
            ErrorCode::Unsupported => "unsupported",
            ErrorCode::InvalidArgument => "invalid-argument",
            ErrorCode::Io => "io",
            ErrorCode::Syntax => "syntax",
            ErrorCode::InvalidSchema => "invalid-schema",
            ErrorCode::InvalidPatch => "invalid-patch",
            ErrorCode::PatchFailed => "patch-failed",
            ErrorCode::Unverified => "unverified",
        }
    }
}

/// Where in its input an error is: a byte offset, and for text the 1-based
/// line and column (in characters); both 0 for binary input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    pub offset: u64,
    pub line: u32,
    pub column: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub code: ErrorCode,
    pub message: String,
    pub position: Option<Position>,
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Error {
            code,
            message: message.into(),
            position: None,
        }
    }
    pub fn at(mut self, position: Position) -> Self {
        self.position = Some(position);
        self
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
