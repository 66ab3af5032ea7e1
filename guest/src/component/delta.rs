//! Exports of the `delta` interface.

use super::exports::oms::accel::delta;
use super::oms::accel::types;
use super::Component;
use crate::vcdiff::{self, Decoder, EncodeOptions, Encoder, FileSource, Progress};
use crate::Error;
use std::cell::RefCell;
use std::fs::File;
use std::io::{BufReader, BufWriter};

impl From<delta::EncodeOptions> for EncodeOptions {
    fn from(o: delta::EncodeOptions) -> Self {
        EncodeOptions {
            window_size: o.window_size as usize,
            source_window: o.source_window_size as usize,
            checksum: o.checksum,
        }
    }
}

impl From<Progress> for delta::Progress {
    fn from(p: Progress) -> Self {
        delta::Progress {
            done: p.done,
            total: p.total,
            finished: p.finished,
        }
    }
}

type FileEncoder = Encoder<FileSource, File, BufWriter<File>>;
type FileDecoder = Decoder<FileSource, BufReader<File>, BufWriter<File>>;

fn open_encoder(
    old: &str,
    new: &str,
    out: &str,
    options: EncodeOptions,
) -> Result<FileEncoder, Error> {
    let source = FileSource::open(old)?;
    let target = File::open(new).map_err(|e| Error::io(&format!("opening {new}"), e))?;
    let total = target
        .metadata()
        .map_err(|e| Error::io(&format!("reading the size of {new}"), e))?
        .len();
    let output = File::create(out).map_err(|e| Error::io(&format!("creating {out}"), e))?;
    let mut enc = Encoder::new(
        source,
        target,
        BufWriter::with_capacity(1 << 20, output),
        options,
    )?;
    enc.set_total(total);
    Ok(enc)
}

fn open_decoder(
    old: &str,
    delta_path: &str,
    out: &str,
    max_output: u64,
) -> Result<FileDecoder, Error> {
    let source = FileSource::open(old)?;
    let input =
        File::open(delta_path).map_err(|e| Error::io(&format!("opening {delta_path}"), e))?;
    let total = input
        .metadata()
        .map_err(|e| Error::io(&format!("reading the size of {delta_path}"), e))?
        .len();
    let output = File::create(out).map_err(|e| Error::io(&format!("creating {out}"), e))?;
    let mut dec = Decoder::new(
        source,
        BufReader::with_capacity(1 << 20, input),
        BufWriter::with_capacity(1 << 20, output),
        max_output,
    );
    dec.set_total(total);
    Ok(dec)
}

/// A file operation driven one window per call. After an error it stays
/// failed, and its partial output file is removed.
pub struct Stepper<T> {
    state: RefCell<Result<T, Error>>,
    out_path: String,
}

impl<T> Stepper<T> {
    fn new(state: Result<T, Error>, out_path: String) -> Self {
        if state.is_err() {
            let _ = std::fs::remove_file(&out_path);
        }
        Stepper {
            state: RefCell::new(state),
            out_path,
        }
    }

    fn step(
        &self,
        f: impl FnOnce(&mut T) -> Result<Progress, Error>,
    ) -> Result<delta::Progress, types::Error> {
        let mut state = self.state.borrow_mut();
        let result = match &mut *state {
            Ok(op) => f(op),
            Err(e) => Err(e.clone()),
        };
        result.map(Into::into).map_err(|e| {
            let _ = std::fs::remove_file(&self.out_path);
            *state = Err(e.clone());
            e.into()
        })
    }
}

pub struct EncoderResource(Stepper<FileEncoder>);
pub struct DecoderResource(Stepper<FileDecoder>);

impl delta::GuestFileEncoder for EncoderResource {
    fn new(
        old_path: String,
        new_path: String,
        out_path: String,
        options: delta::EncodeOptions,
    ) -> Self {
        let state = open_encoder(&old_path, &new_path, &out_path, options.into());
        EncoderResource(Stepper::new(state, out_path))
    }
    fn step(&self) -> Result<delta::Progress, types::Error> {
        self.0.step(|e| e.step())
    }
}

impl delta::GuestFileDecoder for DecoderResource {
    fn new(old_path: String, delta_path: String, out_path: String, max_output: u64) -> Self {
        let state = open_decoder(&old_path, &delta_path, &out_path, max_output);
        DecoderResource(Stepper::new(state, out_path))
    }
    fn step(&self) -> Result<delta::Progress, types::Error> {
        self.0.step(|d| d.step())
    }
}

/// Runs a stepper to the end; returns the last progress.
fn run_to_end<T>(
    stepper: Stepper<T>,
    mut f: impl FnMut(&mut T) -> Result<Progress, Error>,
) -> Result<delta::Progress, types::Error> {
    loop {
        let p = stepper.step(&mut f)?;
        if p.finished {
            return Ok(p);
        }
    }
}

impl delta::Guest for Component {
    type FileEncoder = EncoderResource;
    type FileDecoder = DecoderResource;

    fn encode(
        old: Vec<u8>,
        new: Vec<u8>,
        options: delta::EncodeOptions,
    ) -> Result<Vec<u8>, types::Error> {
        Ok(vcdiff::encode(&old, &new, options.into())?)
    }

    fn decode(old: Vec<u8>, delta: Vec<u8>, max_output: u64) -> Result<Vec<u8>, types::Error> {
        Ok(vcdiff::decode(&old, &delta, max_output)?)
    }

    fn encode_file(
        old_path: String,
        new_path: String,
        out_path: String,
        options: delta::EncodeOptions,
    ) -> Result<u64, types::Error> {
        let state = open_encoder(&old_path, &new_path, &out_path, options.into());
        run_to_end(Stepper::new(state, out_path.clone()), |e| e.step())?;
        std::fs::metadata(&out_path)
            .map(|m| m.len())
            .map_err(|e| Error::io("reading the delta size", e).into())
    }

    fn decode_file(
        old_path: String,
        delta_path: String,
        out_path: String,
        max_output: u64,
    ) -> Result<u64, types::Error> {
        let state = open_decoder(&old_path, &delta_path, &out_path, max_output);
        let mut written = 0;
        run_to_end(Stepper::new(state, out_path), |d| {
            let p = d.step()?;
            written = d.written();
            Ok(p)
        })?;
        Ok(written)
    }
}
