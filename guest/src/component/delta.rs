//! Exports of the `delta` interface: type conversions only.

use super::exports::oms::accel::delta;
use super::oms::accel::types;
use super::Component;
use crate::vcdiff::{self, EncodeOptions, FileDecoder, FileEncoder, Progress};
use std::cell::RefCell;

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

/// (WIT methods take `&self`: the operation sits in a `RefCell`.)
pub struct EncoderResource(RefCell<FileEncoder>);
pub struct DecoderResource(RefCell<FileDecoder>);

impl delta::GuestFileEncoder for EncoderResource {
    fn open(
        old_path: String,
        new_path: String,
        out_path: String,
        options: delta::EncodeOptions,
    ) -> Result<delta::FileEncoder, types::Error> {
        let op = FileEncoder::open(&old_path, &new_path, &out_path, options.into())?;
        Ok(delta::FileEncoder::new(EncoderResource(RefCell::new(op))))
    }
    fn step(&self) -> Result<delta::Progress, types::Error> {
        Ok(self.0.borrow_mut().step()?.into())
    }
}

impl delta::GuestFileDecoder for DecoderResource {
    fn open(
        old_path: String,
        delta_path: String,
        out_path: String,
        max_output: u64,
        verify: bool,
    ) -> Result<delta::FileDecoder, types::Error> {
        let op = FileDecoder::open(&old_path, &delta_path, &out_path, max_output, verify)?;
        Ok(delta::FileDecoder::new(DecoderResource(RefCell::new(op))))
    }
    fn step(&self) -> Result<delta::Progress, types::Error> {
        Ok(self.0.borrow_mut().step()?.into())
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

    fn decode(
        old: Vec<u8>,
        delta: Vec<u8>,
        max_output: u64,
        verify: bool,
    ) -> Result<Vec<u8>, types::Error> {
        Ok(vcdiff::decode(&old, &delta, max_output, verify)?)
    }

    fn encode_file(
        old_path: String,
        new_path: String,
        out_path: String,
        options: delta::EncodeOptions,
    ) -> Result<u64, types::Error> {
        Ok(vcdiff::encode_file(
            &old_path,
            &new_path,
            &out_path,
            options.into(),
        )?)
    }

    fn decode_file(
        old_path: String,
        delta_path: String,
        out_path: String,
        max_output: u64,
        verify: bool,
    ) -> Result<u64, types::Error> {
        Ok(vcdiff::decode_file(
            &old_path,
            &delta_path,
            &out_path,
            max_output,
            verify,
        )?)
    }
}
