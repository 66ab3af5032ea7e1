//! Deltas between files, one window per `step`, so that a host can show
//! progress and keep each call inside its time limit. The output file is
//! only ever complete or absent: after an error the operation stays failed
//! and its partial output is removed.

use super::{Decoder, EncodeOptions, Encoder, FileSource, Progress, Written};
use crate::{Error, Result};
use std::fs::File;
use std::io::{BufReader, BufWriter};

/// One window of work.
pub trait Step {
    fn step(&mut self) -> Result<Progress>;
}

impl<S: super::Source, R: std::io::Read, W: std::io::Write> Step for Encoder<S, R, W> {
    fn step(&mut self) -> Result<Progress> {
        Encoder::step(self)
    }
}

impl<S: super::Source, R: std::io::Read, W: super::Output> Step for Decoder<S, R, W> {
    fn step(&mut self) -> Result<Progress> {
        Decoder::step(self)
    }
}

/// A file operation that writes `out_path`.
pub struct FileOp<T> {
    op: T,
    failed: Option<Error>,
    out_path: String,
}

pub type FileEncoder = FileOp<Encoder<FileSource, File, BufWriter<File>>>;
pub type FileDecoder = FileOp<Decoder<FileSource, BufReader<File>, Written<BufWriter<File>>>>;

const BUFFER: usize = 1 << 20;

fn open_input(path: &str) -> Result<(File, u64)> {
    let file = File::open(path).map_err(|e| Error::io(&format!("opening {path}"), e))?;
    let len = file
        .metadata()
        .map_err(|e| Error::io(&format!("reading the size of {path}"), e))?
        .len();
    Ok((file, len))
}

fn create(path: &str) -> Result<BufWriter<File>> {
    let file = File::create(path).map_err(|e| Error::io(&format!("creating {path}"), e))?;
    Ok(BufWriter::with_capacity(BUFFER, file))
}

impl<T: Step> FileOp<T> {
    /// `op`, or its error with `out_path` removed.
    fn new(op: Result<T>, out_path: &str) -> Result<Self> {
        match op {
            Ok(op) => Ok(FileOp {
                op,
                failed: None,
                out_path: out_path.to_string(),
            }),
            Err(e) => {
                let _ = std::fs::remove_file(out_path);
                Err(e)
            }
        }
    }

    /// The next window; `finished` once the output is complete.
    pub fn step(&mut self) -> Result<Progress> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        self.op.step().inspect_err(|e| {
            let _ = std::fs::remove_file(&self.out_path);
            self.failed = Some(e.clone());
        })
    }

    /// Steps to the end; the last progress.
    pub fn finish(&mut self) -> Result<Progress> {
        loop {
            let p = self.step()?;
            if p.finished {
                return Ok(p);
            }
        }
    }
}

impl FileEncoder {
    /// Encodes `new_path` against `old_path` into `out_path`; progress counts
    /// bytes of the new version.
    pub fn open(
        old_path: &str,
        new_path: &str,
        out_path: &str,
        options: EncodeOptions,
    ) -> Result<Self> {
        let op = (|| {
            let source = FileSource::open(old_path)?;
            let (target, total) = open_input(new_path)?;
            let mut enc = Encoder::new(source, target, create(out_path)?, options)?;
            enc.set_total(total);
            Ok(enc)
        })();
        Self::new(op, out_path)
    }
}

impl FileDecoder {
    /// Decodes `delta_path` against `old_path` into `out_path`, refusing to
    /// write more than `max_output` bytes (and, with `verify`, to decode a
    /// window without a checksum); progress counts delta bytes read.
    pub fn open(
        old_path: &str,
        delta_path: &str,
        out_path: &str,
        max_output: u64,
        verify: bool,
    ) -> Result<Self> {
        let op = (|| {
            let source = FileSource::open(old_path)?;
            let (input, total) = open_input(delta_path)?;
            let mut dec = Decoder::new(
                source,
                BufReader::with_capacity(BUFFER, input),
                Written::new(create(out_path)?),
                max_output,
                verify,
            );
            dec.set_total(total);
            Ok(dec)
        })();
        Self::new(op, out_path)
    }

    /// Bytes of the new version written so far.
    pub fn written(&self) -> u64 {
        self.op.written()
    }
}

/// Encodes a file whole; returns the size of the delta.
pub fn encode_file(
    old_path: &str,
    new_path: &str,
    out_path: &str,
    options: EncodeOptions,
) -> Result<u64> {
    FileEncoder::open(old_path, new_path, out_path, options)?.finish()?;
    std::fs::metadata(out_path)
        .map(|m| m.len())
        .map_err(|e| Error::io("reading the delta size", e))
}

/// Decodes a file whole; returns the size of the new version.
pub fn decode_file(
    old_path: &str,
    delta_path: &str,
    out_path: &str,
    max_output: u64,
    verify: bool,
) -> Result<u64> {
    let mut dec = FileDecoder::open(old_path, delta_path, out_path, max_output, verify)?;
    dec.finish()?;
    Ok(dec.written())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorCode;
    use std::path::Path;

    struct Dir(std::path::PathBuf);

    impl Dir {
        fn new(name: &str) -> Self {
            let d =
                std::env::temp_dir().join(format!("oms-accel-files-{name}-{}", std::process::id()));
            std::fs::create_dir_all(&d).unwrap();
            Dir(d)
        }
        fn path(&self, name: &str) -> String {
            self.0.join(name).to_string_lossy().into_owned()
        }
        fn write(&self, name: &str, bytes: &[u8]) -> String {
            let p = self.path(name);
            std::fs::write(&p, bytes).unwrap();
            p
        }
    }

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn versions() -> (Vec<u8>, Vec<u8>) {
        let old: Vec<u8> = (0..300_000u32)
            .flat_map(|i| (i % 251).to_le_bytes())
            .collect();
        let mut new = old.clone();
        new[5000..5100].fill(7);
        new.extend_from_slice(b"appended");
        (old, new)
    }

    #[test]
    fn files_round_trip_window_by_window() {
        let d = Dir::new("roundtrip");
        let (old, new) = versions();
        let (o, n) = (d.write("old", &old), d.write("new", &new));
        let options = EncodeOptions {
            window_size: 256 << 10,
            ..EncodeOptions::default()
        };
        let mut enc = FileEncoder::open(&o, &n, &d.path("delta"), options).unwrap();
        let mut steps = 0;
        loop {
            let p = enc.step().unwrap();
            steps += 1;
            assert_eq!(p.total, new.len() as u64);
            if p.finished {
                assert_eq!(p.done, p.total);
                break;
            }
        }
        assert!(steps > 2, "one step per window: {steps}");
        drop(enc);
        let size = decode_file(&o, &d.path("delta"), &d.path("out"), u64::MAX, true).unwrap();
        assert_eq!(size, new.len() as u64);
        assert_eq!(std::fs::read(d.path("out")).unwrap(), new);
        let whole = encode_file(&o, &n, &d.path("delta2"), EncodeOptions::default()).unwrap();
        assert_eq!(whole, std::fs::metadata(d.path("delta2")).unwrap().len());
    }

    #[test]
    fn a_failure_stays_failed_and_removes_the_output() {
        let d = Dir::new("failure");
        let (old, new) = versions();
        let (o, n) = (d.write("old", &old), d.write("new", &new));
        encode_file(&o, &n, &d.path("delta"), EncodeOptions::default()).unwrap();
        let out = d.path("out");
        // Over the output cap: the first window fails, nothing is left.
        let mut dec = FileDecoder::open(&o, &d.path("delta"), &out, 1000, true).unwrap();
        let e = dec.step().unwrap_err();
        assert_eq!(e.code, ErrorCode::LimitExceeded);
        assert!(!Path::new(&out).exists());
        assert_eq!(dec.step().unwrap_err(), e, "stays failed");
        // A missing input fails at open, and its output is not created.
        let e = FileEncoder::open(&d.path("missing"), &n, &out, EncodeOptions::default())
            .err()
            .unwrap();
        assert_eq!(e.code, ErrorCode::Io);
        assert!(!Path::new(&out).exists());
        // A delta against the wrong source.
        let wrong = d.write("wrong", &old[..1000]);
        let e = decode_file(&wrong, &d.path("delta"), &out, u64::MAX, true).unwrap_err();
        assert_eq!(e.code, ErrorCode::WrongSource);
        assert!(!Path::new(&out).exists());
    }
}
