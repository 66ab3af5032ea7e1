//! VCDIFF decoder, safe on hostile input: every length and address is
//! checked before use, no allocation is sized by an unchecked header field,
//! and the output is capped by the caller.

use super::addr_cache::AddrCache;
use super::code_table::{Entry, Inst, DEFAULT_TABLE};
use super::source::{SliceSource, Source};
use super::{adler32, varint, Progress, LENGTH_APPHEADER, MAGIC, MAX_TARGET_WINDOW};
use super::{VCD_ADLER32, VCD_APPHEADER, VCD_CODETABLE, VCD_DECOMPRESS, VCD_SOURCE, VCD_TARGET};
use crate::{Error, ErrorCode, Result};
use std::io::{self, Read, Write};

/// Decodes a whole delta held in memory. With `verify`, every window must
/// carry a checksum (see [`Decoder::new`]).
pub fn decode(old: &[u8], delta: &[u8], max_output: u64, verify: bool) -> Result<Vec<u8>> {
    let cap = usize::try_from(max_output).unwrap_or(usize::MAX);
    let mut dec = Decoder::new(SliceSource(old), delta, Vec::new(), max_output, verify);
    dec.set_total(delta.len() as u64);
    // Room for the whole output at once: regrowing an 8 MiB output copies
    // it (a tenth of a decode). Our deltas announce their length; a claim
    // is believed only up to what the inputs already held could plausibly
    // rebuild (the old version and half again, plus the delta), so memory
    // follows what is decoded, never a header alone.
    let plausible = old
        .len()
        .saturating_add(old.len() / 2)
        .saturating_add(delta.len());
    let claimed = dec.header()?.map_or(old.len(), |n| {
        usize::try_from(n).unwrap_or(usize::MAX).min(plausible)
    });
    dec.output.reserve_exact(claimed.min(cap));
    while !dec.step()?.finished {}
    Ok(dec.into_output())
}

/// Where decoded windows go. An in-memory decode appends each window
/// straight onto its output `Vec`; anything else gets it from a reused
/// window buffer ([`Written`]). Either way a window is checked against its
/// checksum before it counts as output.
pub trait Output {
    /// The buffer the next window is appended to.
    fn buffer(&mut self) -> &mut Vec<u8>;
    /// The window appended from `start` on is checked: pass it on.
    fn commit(&mut self, start: usize) -> io::Result<()>;
    fn flush(&mut self) -> io::Result<()>;
}

impl Output for Vec<u8> {
    fn buffer(&mut self) -> &mut Vec<u8> {
        self
    }

    fn commit(&mut self, _start: usize) -> io::Result<()> {
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Windows decoded into a buffer, then written to `W`.
pub struct Written<W> {
    writer: W,
    window: Vec<u8>,
}

impl<W: Write> Written<W> {
    pub fn new(writer: W) -> Self {
        Written {
            writer,
            window: Vec::new(),
        }
    }
}

impl<W: Write> Output for Written<W> {
    fn buffer(&mut self) -> &mut Vec<u8> {
        &mut self.window
    }

    fn commit(&mut self, start: usize) -> io::Result<()> {
        let written = self.writer.write_all(&self.window[start..]);
        self.window.clear();
        written
    }

    fn flush(&mut self) -> io::Result<()> {
        self.writer.flush()
    }
}

/// Decodes a delta read from `input` against `source` into `output`, one
/// window per [`Decoder::step`].
pub struct Decoder<S, R, W> {
    source: S,
    input: CountingReader<R>,
    output: W,
    max_output: u64,
    verify: bool,
    written: u64,
    windows: u64,
    /// The output length our encoder stored in the header, if it did.
    expected: Option<u64>,
    total: u64,
    header_read: bool,
    finished: bool,
    cache: AddrCache,
    sections: Vec<u8>,
}

impl<S: Source, R: Read, W: Output> Decoder<S, R, W> {
    /// A decoder that writes at most `max_output` bytes. With `verify`, a
    /// window without a checksum is refused before it is decoded: nothing
    /// else in VCDIFF tells a right old version from a wrong one, so such a
    /// window would rebuild wrong bytes from the wrong source, silently.
    pub fn new(source: S, input: R, output: W, max_output: u64, verify: bool) -> Self {
        Decoder {
            source,
            input: CountingReader {
                inner: input,
                count: 0,
            },
            output,
            max_output,
            verify,
            written: 0,
            windows: 0,
            expected: None,
            total: 0,
            header_read: false,
            finished: false,
            cache: AddrCache::default(),
            sections: Vec::new(),
        }
    }

    /// The delta's size, when known, for progress reports.
    pub fn set_total(&mut self, total: u64) {
        self.total = total;
    }

    /// Bytes written so far.
    pub fn written(&self) -> u64 {
        self.written
    }

    pub fn into_output(self) -> W {
        self.output
    }

    /// Reads the header if not done yet; the output length it announces,
    /// if it does (a claim, checked against what the windows produce).
    pub fn header(&mut self) -> Result<Option<u64>> {
        if !self.header_read {
            self.read_header()?;
            self.header_read = true;
        }
        Ok(self.expected)
    }

    /// Reads the header if not done yet, then decodes one window. Reports
    /// delta bytes consumed; `finished` once the delta is fully decoded.
    pub fn step(&mut self) -> Result<Progress> {
        if !self.finished {
            self.header()?;
            match self.input.byte()? {
                None => {
                    self.check_complete()?;
                    self.finished = true;
                    self.output
                        .flush()
                        .map_err(|e| Error::io("writing the output", e))?;
                }
                Some(win_ind) => {
                    self.window(win_ind)?;
                    self.windows += 1;
                }
            }
        }
        Ok(Progress {
            done: self.input.count,
            total: self.total.max(self.input.count),
            finished: self.finished,
        })
    }

    /// VCDIFF has no end marker: a delta cut between windows looks whole.
    /// A delta with no window at all is refused, and one of ours, which
    /// stores the output length, must have produced exactly that much.
    fn check_complete(&self) -> Result<()> {
        if self.windows == 0 {
            return Err(Error::truncated(
                "the delta ends after its header (no windows)",
            ));
        }
        match self.expected {
            Some(n) if n != self.written => Err(Error::truncated(format!(
                "the delta ends early: it decodes to {} of the {n} bytes it announces",
                self.written
            ))),
            _ => Ok(()),
        }
    }

    fn read_header(&mut self) -> Result<()> {
        let mut magic = [0u8; 4];
        for (i, b) in magic.iter_mut().enumerate() {
            *b = match self.input.byte()? {
                Some(b) => b,
                None if i == 0 => return Err(Error::truncated("the delta is empty")),
                None => return Err(Error::truncated("the delta ends inside its header")),
            };
        }
        if magic[..3] != MAGIC[..3] {
            return Err(Error::corrupt("not a VCDIFF delta (bad magic bytes)"));
        }
        if magic[3] != MAGIC[3] {
            return Err(Error::unsupported(format!(
                "VCDIFF version {} is not supported",
                magic[3]
            )));
        }
        let hdr = self.input.need_byte("the header indicator")?;
        if hdr & !(VCD_DECOMPRESS | VCD_CODETABLE | VCD_APPHEADER) != 0 {
            return Err(Error::corrupt(format!(
                "unknown header indicator bits {hdr:#04x}"
            )));
        }
        if hdr & VCD_DECOMPRESS != 0 {
            // The id of a secondary compressor; only windows that use it fail.
            self.input.need_byte("the secondary compressor id")?;
        }
        if hdr & VCD_CODETABLE != 0 {
            return Err(Error::unsupported(
                "application-defined code tables are not supported",
            ));
        }
        if hdr & VCD_APPHEADER != 0 {
            // xdelta3 keeps file names here; we keep the output length.
            let len = self.input.varint("the application header length")?;
            let mut app = Vec::new();
            (&mut self.input)
                .take(len.min(4096))
                .read_to_end(&mut app)
                .map_err(|e| Error::io("reading the delta", e))?;
            let rest = io::copy(
                &mut (&mut self.input).take(len - app.len() as u64),
                &mut io::sink(),
            )
            .map_err(|e| Error::io("reading the delta", e))?;
            if app.len() as u64 + rest != len {
                return Err(Error::truncated(
                    "the delta ends inside its application header",
                ));
            }
            self.expected = parse_length_appheader(&app);
            if let Some(n) = self.expected.filter(|&n| n > self.max_output) {
                return Err(Error::limit(format!(
                    "the delta decodes to {n} bytes, over the limit of {} bytes",
                    self.max_output
                )));
            }
        }
        Ok(())
    }

    fn window(&mut self, win_ind: u8) -> Result<()> {
        if win_ind & !(VCD_SOURCE | VCD_TARGET | VCD_ADLER32) != 0 {
            return Err(Error::corrupt(format!(
                "unknown window indicator bits {win_ind:#04x}"
            )));
        }
        if win_ind & VCD_TARGET != 0 {
            return Err(Error::unsupported(
                "windows that copy from earlier target windows (VCD_TARGET) are not supported",
            ));
        }
        let (seg_len, seg_pos) = if win_ind & VCD_SOURCE != 0 {
            let len = self.input.varint("the source segment length")?;
            (len, self.input.varint("the source segment position")?)
        } else {
            (0, 0)
        };
        let delta_len = self.input.varint("the window length")?;
        let start = self.input.count;
        let tgt_len = self.input.varint("the target window length")?;
        let delta_ind = self.input.need_byte("the delta indicator")?;
        if delta_ind != 0 {
            return Err(Error::unsupported(
                "secondary compression (djw, lzma, fgk) is not supported: make the delta with `xdelta3 -S none`",
            ));
        }
        let data_len = self.input.varint("the data section length")?;
        let inst_len = self.input.varint("the instruction section length")?;
        let addr_len = self.input.varint("the address section length")?;
        let checksum = if win_ind & VCD_ADLER32 != 0 {
            let mut c = [0u8; 4];
            for b in &mut c {
                *b = self.input.need_byte("the window checksum")?;
            }
            Some(u32::from_be_bytes(c))
        } else {
            None
        };
        let sections = data_len
            .checked_add(inst_len)
            .and_then(|s| s.checked_add(addr_len))
            .ok_or_else(|| Error::corrupt("section lengths overflow"))?;
        if (self.input.count - start).checked_add(sections) != Some(delta_len) {
            return Err(Error::corrupt("window length does not match its sections"));
        }
        if tgt_len > MAX_TARGET_WINDOW {
            return Err(Error::corrupt(format!(
                "target window of {tgt_len} bytes exceeds the {MAX_TARGET_WINDOW}-byte maximum"
            )));
        }
        if self.expected.is_some_and(|n| self.written + tgt_len > n) {
            return Err(Error::corrupt(
                "the delta decodes to more bytes than it announces",
            ));
        }
        if self.written + tgt_len > self.max_output {
            return Err(Error::limit(format!(
                "output would exceed the limit of {} bytes",
                self.max_output
            )));
        }
        if self.verify && checksum.is_none() {
            return Err(Error::new(
                ErrorCode::Unverified,
                format!(
                    "window {} has no checksum, so its output cannot be verified against the old version: \
                     decode with verify=False (--no-verify) only if you know the old version is the right one",
                    self.windows
                ),
            ));
        }
        self.sections.clear();
        let got = (&mut self.input)
            .take(sections)
            .read_to_end(&mut self.sections)
            .map_err(|e| Error::io("reading the delta", e))?;
        if got as u64 != sections {
            return Err(Error::truncated("the delta ends inside a window"));
        }
        let (data, rest) = self.sections.split_at(data_len as usize);
        let (inst, addrs) = rest.split_at(inst_len as usize);
        let segment = self.source.segment(seg_pos, seg_len)?;
        self.cache.reset();
        let out = self.output.buffer();
        let start = out.len();
        run_window(
            &DEFAULT_TABLE,
            &mut self.cache,
            segment,
            data,
            inst,
            addrs,
            tgt_len,
            out,
        )?;
        if let Some(expected) = checksum {
            let actual = adler32(&out[start..]);
            if actual != expected {
                return Err(Error::new(
                    ErrorCode::ChecksumMismatch,
                    format!("window checksum mismatch (stored {expected:#010x}, decoded {actual:#010x}): wrong source or corrupt delta"),
                ));
            }
        }
        self.output
            .commit(start)
            .map_err(|e| Error::io("writing the output", e))?;
        self.written += tgt_len;
        Ok(())
    }
}

fn parse_length_appheader(app: &[u8]) -> Option<u64> {
    let digits = app.strip_prefix(LENGTH_APPHEADER)?;
    std::str::from_utf8(digits).ok()?.parse().ok()
}

/// Executes one window's instructions, appending its `tgt_len` bytes to
/// `out` (target addresses count from where the window starts).
#[allow(clippy::too_many_arguments)]
fn run_window(
    table: &[Entry; 256],
    cache: &mut AddrCache,
    seg: &[u8],
    data: &[u8],
    inst: &[u8],
    addrs: &[u8],
    tgt_len: u64,
    out: &mut Vec<u8>,
) -> Result<()> {
    let start = out.len();
    out.reserve(tgt_len as usize);
    let tgt_len = tgt_len as usize;
    let seg_len = seg.len() as u64;
    let (mut dp, mut ip, mut ap) = (0usize, 0usize, 0usize);
    while ip < inst.len() {
        let entry = table[inst[ip] as usize];
        ip += 1;
        for half in entry {
            if half.inst == Inst::Noop {
                continue;
            }
            let size = if half.size == 0 {
                varint::read(inst, &mut ip, "an instruction size")?
            } else {
                u64::from(half.size)
            };
            if size > (tgt_len - (out.len() - start)) as u64 {
                return Err(Error::corrupt("an instruction overflows its target window"));
            }
            let size = size as usize;
            match half.inst {
                Inst::Noop => {}
                Inst::Add => {
                    let bytes = data
                        .get(dp..dp + size)
                        .ok_or_else(|| Error::corrupt("an ADD runs past the data section"))?;
                    out.extend_from_slice(bytes);
                    dp += size;
                }
                Inst::Run => {
                    let &byte = data
                        .get(dp)
                        .ok_or_else(|| Error::corrupt("a RUN runs past the data section"))?;
                    dp += 1;
                    out.resize(out.len() + size, byte);
                }
                Inst::Copy(mode) => {
                    let here = seg_len + (out.len() - start) as u64;
                    let addr = cache.decode(here, mode, addrs, &mut ap)?;
                    copy(seg, addr, size, start, out);
                }
            }
        }
    }
    if dp != data.len() || ap != addrs.len() {
        return Err(Error::corrupt("a window has unused data or addresses"));
    }
    if out.len() - start != tgt_len {
        return Err(Error::corrupt(
            "a window's instructions do not fill its target length",
        ));
    }
    Ok(())
}

/// COPY semantics: `size` bytes from `addr` in source segment + target so
/// far (the window's target starts at `out[start]`), byte by byte, so a
/// copy may overlap what it produces. `addr` is already checked to be
/// before the current position.
fn copy(seg: &[u8], addr: u64, size: usize, start: usize, out: &mut Vec<u8>) {
    let mut remaining = size;
    let mut addr = addr;
    let seg_len = seg.len() as u64;
    if addr < seg_len {
        let n = remaining.min((seg_len - addr) as usize);
        out.extend_from_slice(&seg[addr as usize..addr as usize + n]);
        remaining -= n;
        addr += n as u64;
    }
    if remaining > 0 {
        // out[from..] stays periodic with period (len - from), so copying
        // from `from` in growing chunks is the same as copying byte by byte.
        let from = start + (addr - seg_len) as usize;
        while remaining > 0 {
            let n = remaining.min(out.len() - from);
            out.extend_from_within(from..from + n);
            remaining -= n;
        }
    }
}

/// Counts bytes read, and reads single bytes and varints with errors that
/// say which field was cut short.
struct CountingReader<R> {
    inner: R,
    count: u64,
}

impl<R: Read> Read for CountingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count += n as u64;
        Ok(n)
    }
}

impl<R: Read> CountingReader<R> {
    fn byte(&mut self) -> Result<Option<u8>> {
        let mut b = [0u8; 1];
        loop {
            match self.read(&mut b) {
                Ok(0) => return Ok(None),
                Ok(_) => return Ok(Some(b[0])),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(Error::io("reading the delta", e)),
            }
        }
    }

    fn need_byte(&mut self, what: &str) -> Result<u8> {
        self.byte()?
            .ok_or_else(|| Error::truncated(format!("the delta ends inside {what}")))
    }

    fn varint(&mut self, what: &str) -> Result<u64> {
        varint::read_with(|| self.byte(), what)
    }
}
