//! VCDIFF encoder: splits the new version into target windows, finds
//! matches against a source segment of the old version (the whole old
//! version up to `source_window` bytes) and writes them with the default
//! code table, the address cache and xdelta3's Adler-32 window checksum.

use super::addr_cache::AddrCache;
use super::code_table::{add_copy_opcode, add_opcode, copy_add_opcode, copy_opcode};
use super::matcher::{find_ops, ChainIndex, Op, Scratch};
use super::source::{SliceSource, Source};
use super::{
    adler32, varint, Progress, LENGTH_APPHEADER, MAGIC, VCD_ADLER32, VCD_APPHEADER, VCD_SOURCE,
};
use crate::{Error, Result};
use std::io::{self, Read, Write};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EncodeOptions {
    /// Bytes of the new version per window.
    pub window_size: usize,
    /// Most bytes of the old version indexed at once.
    pub source_window: usize,
    /// Write an Adler-32 of each window.
    pub checksum: bool,
}

pub const DEFAULT_WINDOW: usize = 8 << 20;
pub const DEFAULT_SOURCE_WINDOW: usize = 64 << 20;
/// Hard caps: windows above these are no use and would let a caller ask
/// for absurd allocations.
pub const MAX_WINDOW: usize = 16 << 20;
pub const MAX_SOURCE_WINDOW: usize = 1 << 30;

impl Default for EncodeOptions {
    fn default() -> Self {
        EncodeOptions {
            window_size: DEFAULT_WINDOW,
            source_window: DEFAULT_SOURCE_WINDOW,
            checksum: true,
        }
    }
}

impl EncodeOptions {
    /// Fills zero fields with defaults and checks the rest.
    pub fn resolved(mut self) -> Result<Self> {
        if self.window_size == 0 {
            self.window_size = DEFAULT_WINDOW;
        }
        if self.source_window == 0 {
            self.source_window = DEFAULT_SOURCE_WINDOW;
        }
        if !(1024..=MAX_WINDOW).contains(&self.window_size) {
            return Err(Error::invalid(format!(
                "window size must be between 1 KiB and {} MiB",
                MAX_WINDOW >> 20
            )));
        }
        if !(1024..=MAX_SOURCE_WINDOW).contains(&self.source_window) {
            return Err(Error::invalid(format!(
                "source window size must be between 1 KiB and {} MiB",
                MAX_SOURCE_WINDOW >> 20
            )));
        }
        Ok(self)
    }
}

/// Encodes `new` against `old`, both in memory.
pub fn encode(old: &[u8], new: &[u8], options: EncodeOptions) -> Result<Vec<u8>> {
    let mut enc = Encoder::new(SliceSource(old), io::empty(), Vec::new(), options)?;
    enc.set_total(new.len() as u64);
    // The windows are slices of `new`: no copy of it is read into a buffer.
    let mut rest = new;
    loop {
        let (window, after) = rest.split_at(enc.options.window_size.min(rest.len()));
        rest = after;
        if enc.advance(window)?.finished {
            return Ok(enc.into_output());
        }
    }
}

/// The source segment an index covers.
struct Indexed {
    pos: u64,
    len: u64,
    index: ChainIndex,
}

/// Encodes the new version read from `target` against `source` into
/// `output`, one window per [`Encoder::step`].
pub struct Encoder<S, R, W> {
    source: S,
    target: R,
    output: W,
    options: EncodeOptions,
    total: Option<u64>,
    done: u64,
    windows: u64,
    header_written: bool,
    finished: bool,
    indexed: Option<Indexed>,
    scratch: Scratch,
    cache: AddrCache,
    /// The buffer a reader's windows are read into (`encode` passes slices).
    window: Vec<u8>,
    ops: Vec<Op>,
    data: Vec<u8>,
    inst: Vec<u8>,
    addrs: Vec<u8>,
    buf: Vec<u8>,
}

impl<S: Source, R: Read, W: Write> Encoder<S, R, W> {
    pub fn new(source: S, target: R, output: W, options: EncodeOptions) -> Result<Self> {
        Ok(Encoder {
            source,
            target,
            output,
            options: options.resolved()?,
            total: None,
            done: 0,
            windows: 0,
            header_written: false,
            finished: false,
            indexed: None,
            scratch: Scratch::default(),
            cache: AddrCache::default(),
            window: Vec::new(),
            ops: Vec::new(),
            data: Vec::new(),
            inst: Vec::new(),
            addrs: Vec::new(),
            buf: Vec::new(),
        })
    }

    /// The new version's size, when known: written into the header (when it
    /// takes more than one window) so a truncated delta is detected, places
    /// source windows of a large old version, and scales progress reports.
    /// Call before the first step.
    pub fn set_total(&mut self, total: u64) {
        self.total = Some(total);
    }

    pub fn into_output(self) -> W {
        self.output
    }

    /// Encodes the next window; `finished` once the new version is consumed.
    pub fn step(&mut self) -> Result<Progress> {
        if self.finished {
            return self.advance(&[]);
        }
        let mut window = std::mem::take(&mut self.window);
        let result = self
            .read_window(&mut window)
            .and_then(|()| self.advance(&window));
        self.window = window;
        result
    }

    /// Encodes `window`, the next bytes of the new version (empty once it
    /// is consumed).
    fn advance(&mut self, window: &[u8]) -> Result<Progress> {
        if !self.finished {
            if !self.header_written {
                self.write_header()?;
                self.header_written = true;
            }
            // An empty new version still gets one (empty) window, as
            // xdelta3 writes it: a delta of just a header means "truncated".
            if window.is_empty() && self.windows > 0 {
                self.finished = true;
                self.output
                    .flush()
                    .map_err(|e| Error::io("writing the delta", e))?;
            } else {
                self.encode_window(window)?;
                self.done += window.len() as u64;
                self.windows += 1;
            }
        }
        Ok(Progress {
            done: self.done,
            total: self.total.unwrap_or(0).max(self.done),
            finished: self.finished,
        })
    }

    fn write(&mut self, bytes: &[u8]) -> Result<()> {
        self.output
            .write_all(bytes)
            .map_err(|e| Error::io("writing the delta", e))
    }

    fn write_header(&mut self) -> Result<()> {
        let mut header = MAGIC.to_vec();
        match self.total {
            Some(total) if total > self.options.window_size as u64 => {
                let app = [LENGTH_APPHEADER, total.to_string().as_bytes()].concat();
                header.push(VCD_APPHEADER);
                varint::write(&mut header, app.len() as u64);
                header.extend_from_slice(&app);
            }
            _ => header.push(0),
        }
        self.write(&header)
    }

    fn read_window(&mut self, window: &mut Vec<u8>) -> Result<()> {
        window.clear();
        let want = self.options.window_size as u64;
        // Room for what is left of a new version of known size, so that
        // read_to_end (which cannot see through `take`) reads it in one go
        // instead of growing the buffer, and copying it, a step at a time.
        if let Some(total) = self.total {
            window.reserve(total.saturating_sub(self.done).min(want) as usize);
        }
        (&mut self.target)
            .take(want)
            .read_to_end(window)
            .map_err(|e| Error::io("reading the new version", e))?;
        Ok(())
    }

    /// The part of the old version to index for the window at `t0`: all
    /// of it when it fits, else a `source_window` slice at the same relative
    /// position, aligned to half windows so consecutive windows share it.
    fn segment_for(&self, t0: u64, len: u64) -> (u64, u64) {
        let slen = self.source.len();
        let sw = self.options.source_window as u64;
        if slen <= sw {
            return (0, slen);
        }
        let total = self.total.unwrap_or(0).max(t0 + len).max(1);
        let center = ((t0 + len / 2) as u128 * slen as u128 / total as u128) as u64;
        let half = sw / 2;
        let start = (center.saturating_sub(half) / half * half).min(slen - sw);
        (start, sw)
    }

    fn encode_window(&mut self, window: &[u8]) -> Result<()> {
        let (seg_pos, seg_len) = self.segment_for(self.done, window.len() as u64);
        let segment = self.source.segment(seg_pos, seg_len)?;
        let fresh = matches!(&self.indexed, Some(ix) if ix.pos == seg_pos && ix.len == seg_len);
        if !fresh {
            self.indexed = Some(Indexed {
                pos: seg_pos,
                len: seg_len,
                index: ChainIndex::build(segment),
            });
        }
        let index = &self.indexed.as_ref().expect("just built").index;
        let aligned = self.done as isize - seg_pos as isize;
        find_ops(
            segment,
            index,
            window,
            aligned,
            &mut self.scratch,
            &mut self.ops,
        );

        // Only the part of the segment the copies use goes into the window
        // header, so a decoder reads no more of the old version than needed.
        let (lo, hi) = self
            .ops
            .iter()
            .fold((usize::MAX, 0), |(lo, hi), op| match *op {
                Op::CopySource { pos, len } => (lo.min(pos), hi.max(pos + len)),
                _ => (lo, hi),
            });
        let (used_pos, used_len) = if hi > 0 { (lo, hi - lo) } else { (0, 0) };
        self.write_sections(window, used_pos, used_len as u64);

        let mut header = std::mem::take(&mut self.buf);
        header.clear();
        let mut win_ind = 0;
        if used_len > 0 {
            win_ind |= VCD_SOURCE;
        }
        if self.options.checksum {
            win_ind |= VCD_ADLER32;
        }
        let mut body = Vec::with_capacity(32);
        varint::write(&mut body, window.len() as u64);
        body.push(0); // Delta_Indicator: no secondary compression.
        varint::write(&mut body, self.data.len() as u64);
        varint::write(&mut body, self.inst.len() as u64);
        varint::write(&mut body, self.addrs.len() as u64);
        if self.options.checksum {
            body.extend_from_slice(&adler32(window).to_be_bytes());
        }
        header.push(win_ind);
        if used_len > 0 {
            varint::write(&mut header, used_len as u64);
            varint::write(&mut header, seg_pos + used_pos as u64);
        }
        let delta_len = body.len() + self.data.len() + self.inst.len() + self.addrs.len();
        varint::write(&mut header, delta_len as u64);
        header.extend_from_slice(&body);
        let result = self
            .write(&header)
            .and_then(|_| write_all(&mut self.output, &[&self.data, &self.inst, &self.addrs]));
        self.buf = header;
        result
    }

    /// Turns the ops into the data, instruction and address sections.
    /// Source copies are addressed from `used_pos` in the segment; target
    /// copies after the `used_len` source bytes.
    fn write_sections(&mut self, window: &[u8], used_pos: usize, used_len: u64) {
        let (data, inst, addrs) = (&mut self.data, &mut self.inst, &mut self.addrs);
        data.clear();
        inst.clear();
        addrs.clear();
        self.cache.reset();
        let ops = &self.ops;
        let mut here = used_len; // position in the source+target address space
        let mut i = 0;
        while i < ops.len() {
            match ops[i] {
                Op::Add { start, len } => {
                    data.extend_from_slice(&window[start..start + len]);
                    here += len as u64;
                    // ADD then COPY share one opcode when the table has the pair.
                    if let Some(&next) = ops.get(i + 1) {
                        if let Some((addr, clen)) = copy_addr(next, used_pos, used_len) {
                            let mode = self.cache.encode(addr, here, addrs);
                            here += clen;
                            match add_copy_opcode(len as u64, clen, mode) {
                                Some(op) => inst.push(op),
                                None => {
                                    push_add(inst, len as u64);
                                    push_copy(inst, mode, clen);
                                }
                            }
                            i += 2;
                            continue;
                        }
                    }
                    push_add(inst, len as u64);
                }
                op => {
                    let (addr, clen) = copy_addr(op, used_pos, used_len).expect("a copy");
                    let mode = self.cache.encode(addr, here, addrs);
                    here += clen;
                    // COPY(4) then ADD(1) share an opcode too.
                    if let Some(&Op::Add { start, len: 1 }) = ops.get(i + 1) {
                        if let Some(code) = copy_add_opcode(clen, mode, 1) {
                            inst.push(code);
                            data.push(window[start]);
                            here += 1;
                            i += 2;
                            continue;
                        }
                    }
                    push_copy(inst, mode, clen);
                }
            }
            i += 1;
        }
    }
}

/// Address (in the window's address space) and length of a copy op.
fn copy_addr(op: Op, used_pos: usize, used_len: u64) -> Option<(u64, u64)> {
    match op {
        Op::CopySource { pos, len } => Some(((pos - used_pos) as u64, len as u64)),
        Op::CopyTarget { pos, len } => Some((used_len + pos as u64, len as u64)),
        Op::Add { .. } => None,
    }
}

fn push_add(inst: &mut Vec<u8>, len: u64) {
    let (op, sized) = add_opcode(len);
    inst.push(op);
    if sized {
        varint::write(inst, len);
    }
}

fn push_copy(inst: &mut Vec<u8>, mode: u8, len: u64) {
    let (op, sized) = copy_opcode(mode, len);
    inst.push(op);
    if sized {
        varint::write(inst, len);
    }
}

fn write_all(out: &mut impl Write, parts: &[&[u8]]) -> Result<()> {
    parts
        .iter()
        .try_for_each(|p| out.write_all(p))
        .map_err(|e: io::Error| Error::io("writing the delta", e))
}
