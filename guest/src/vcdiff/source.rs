//! Random access to the old version ("source") of a delta, from memory or
//! from a file, so the codec never needs the whole of a large file at once.

use crate::{Error, Result};
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};

pub trait Source {
    fn len(&self) -> u64;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The `len` bytes at `pos`. Callers check the range against `len()`
    /// first and get an error, never a panic, if they don't.
    fn segment(&mut self, pos: u64, len: u64) -> Result<&[u8]>;
}

pub struct SliceSource<'a>(pub &'a [u8]);

impl Source for SliceSource<'_> {
    fn len(&self) -> u64 {
        self.0.len() as u64
    }
    fn segment(&mut self, pos: u64, len: u64) -> Result<&[u8]> {
        check_range(self.len(), pos, len)?;
        Ok(&self.0[pos as usize..(pos + len) as usize])
    }
}

/// A file read segment by segment; the last segment is kept, and a request
/// inside it is served without reading again.
pub struct FileSource {
    file: File,
    len: u64,
    buf: Vec<u8>,
    buf_pos: u64,
}

impl FileSource {
    pub fn open(path: &str) -> Result<Self> {
        let file = File::open(path).map_err(|e| Error::io(&format!("opening {path}"), e))?;
        let len = file
            .metadata()
            .map_err(|e| Error::io(&format!("reading the size of {path}"), e))?
            .len();
        Ok(FileSource {
            file,
            len,
            buf: Vec::new(),
            buf_pos: 0,
        })
    }
}

impl Source for FileSource {
    fn len(&self) -> u64 {
        self.len
    }
    fn segment(&mut self, pos: u64, len: u64) -> Result<&[u8]> {
        check_range(self.len, pos, len)?;
        let cached = pos >= self.buf_pos && pos + len <= self.buf_pos + self.buf.len() as u64;
        if !cached {
            self.buf.clear();
            self.buf.resize(len as usize, 0);
            self.file
                .seek(SeekFrom::Start(pos))
                .and_then(|_| self.file.read_exact(&mut self.buf))
                .map_err(|e| Error::io("reading the source file", e))?;
            self.buf_pos = pos;
        }
        let start = (pos - self.buf_pos) as usize;
        Ok(&self.buf[start..start + len as usize])
    }
}

fn check_range(total: u64, pos: u64, len: u64) -> Result<()> {
    match pos.checked_add(len) {
        Some(end) if end <= total => Ok(()),
        _ => Err(Error::new(
            crate::ErrorCode::WrongSource,
            format!(
                "the delta refers to source bytes {pos}..{} but the source has only {total} bytes: wrong source?",
                pos.saturating_add(len)
            ),
        )),
    }
}
