"""VCDIFF (RFC 3284) in pure Python: the fallback backend's codec.

It reads everything our Rust encoder and ``xdelta3 -S none`` write (the
default code table, the address cache, xdelta3's application header and
Adler-32 window checksum) and writes deltas both of those decode. The Rust
guest (guest/src/vcdiff) is the reference; this mirrors its format choices,
not its speed.
"""

from __future__ import annotations

import mmap
import time
import zlib
from collections.abc import Callable

from ..errors import DeltaError, LimitError

MAGIC = b"\xd6\xc3\xc4"
VCD_DECOMPRESS, VCD_CODETABLE, VCD_APPHEADER = 0x01, 0x02, 0x04
VCD_SOURCE, VCD_TARGET, VCD_ADLER32 = 0x01, 0x02, 0x04
LENGTH_APPHEADER = b"oms-accel:len="
MAX_TARGET_WINDOW = 64 << 20
U64_MAX = (1 << 64) - 1
WINDOW_SIZE = 8 << 20

NOOP, ADD, RUN, COPY = 0, 1, 2, 3
NEAR, SAME = 4, 3
MODES = 2 + NEAR + SAME

Progress = Callable[[int, int], None]
#: Input whose slices are bytes.
Sliceable = bytes | mmap.mmap


def _error(code: str, message: str) -> DeltaError:
    return DeltaError(message, code)


def _build_table() -> list[tuple[tuple[int, int, int], tuple[int, int, int]]]:
    """The default code table; each half is (type, size, mode)."""
    noop = (NOOP, 0, 0)
    t = [((RUN, 0, 0), noop)]
    t += [((ADD, s, 0), noop) for s in range(18)]
    for m in range(MODES):
        t += [((COPY, 0, m), noop)] + [((COPY, s, m), noop) for s in range(4, 19)]
    for m in range(MODES):
        for a in range(1, 5):
            for c in range(4, (7 if m < 6 else 5)):
                t.append(((ADD, a, 0), (COPY, c, m)))
    t += [((COPY, 4, m), (ADD, 1, 0)) for m in range(MODES)]
    assert len(t) == 256
    return t


TABLE = _build_table()
#: The table read backwards, so that the encoder's opcodes come from the
#: table itself: a lone instruction (size 0: the size follows as a varint)...
_SINGLE = {first: op for op, (first, second) in enumerate(TABLE) if second[0] == NOOP}
#: ... and a pair of instructions in one opcode.
_PAIR = {(first, second): op for op, (first, second) in enumerate(TABLE) if second[0] != NOOP}


# --- integers -----------------------------------------------------------------


def _varint(out: bytearray, value: int) -> None:
    digits = [value & 0x7F]
    value >>= 7
    while value:
        digits.append((value & 0x7F) | 0x80)
        value >>= 7
    out += bytes(reversed(digits))


class _Reader:
    """Reads a byte string field by field, with errors that name the field."""

    __slots__ = ("buf", "end", "pos")

    def __init__(self, buf: bytes | memoryview, pos: int = 0, end: int | None = None) -> None:
        self.buf, self.pos = buf, pos
        self.end = len(buf) if end is None else end

    def at_end(self) -> bool:
        return self.pos >= self.end

    def byte(self, what: str) -> int:
        if self.pos >= self.end:
            raise _error("truncated", f"the delta ends inside {what}")
        b = self.buf[self.pos]
        self.pos += 1
        return b

    def varint(self, what: str) -> int:
        value = 0
        while True:
            b = self.byte(what)
            if value > (1 << 57) - 1:
                raise _error("corrupt", f"{what} overflows 64 bits")
            value = (value << 7) | (b & 0x7F)
            if not b & 0x80:
                return value

    def take(self, n: int, what: str) -> bytes:
        if n > self.end - self.pos:
            raise _error("truncated", f"the delta ends inside {what}")
        out = bytes(self.buf[self.pos : self.pos + n])
        self.pos += n
        return out


# --- the address cache ----------------------------------------------------------


class _AddrCache:
    __slots__ = ("near", "same", "slot")

    def __init__(self) -> None:
        self.near = [0] * NEAR
        self.slot = 0
        self.same = [0] * (SAME * 256)

    def _update(self, addr: int) -> None:
        self.near[self.slot] = addr
        self.slot = (self.slot + 1) % NEAR
        self.same[addr % (SAME * 256)] = addr

    def decode(self, here: int, mode: int, r: _Reader) -> int:
        if mode == 0:
            addr = r.varint("a COPY address")
        elif mode == 1:
            addr = here - r.varint("a COPY address")
            if addr < 0:
                raise _error("corrupt", "COPY address before the start of the window")
        elif mode < 2 + NEAR:
            addr = self.near[mode - 2] + r.varint("a COPY address")
            if addr > U64_MAX:
                raise _error("corrupt", "COPY address overflows")
        else:
            addr = self.same[(mode - 2 - NEAR) * 256 + r.byte("a COPY address")]
        if not 0 <= addr < here:
            raise _error("corrupt", f"COPY address {addr} is not before the current position {here}")
        self._update(addr)
        return addr

    def encode(self, addr: int, here: int, out: bytearray) -> int:
        idx = addr % (SAME * 256)
        if self.same[idx] == addr:
            mode = 2 + NEAR + idx // 256
            out.append(idx % 256)
        else:
            mode, best = 0, addr
            if _vlen(here - addr) < _vlen(best):
                mode, best = 1, here - addr
            for i, n in enumerate(self.near):
                if addr >= n and _vlen(addr - n) < _vlen(best):
                    mode, best = 2 + i, addr - n
            _varint(out, best)
        self._update(addr)
        return mode


def _vlen(v: int) -> int:
    return max(1, (v.bit_length() + 6) // 7)


# --- decoding ------------------------------------------------------------------------


def decode(
    old: bytes | memoryview,
    delta: bytes | memoryview,
    max_output: int,
    progress: Progress | None = None,
    deadline: float | None = None,
    *,
    verify: bool = True,
) -> bytes:
    """Decodes `delta` against `old`. With `verify`, a window without a
    checksum is refused (``unverified``): from the wrong old version it would
    rebuild wrong bytes, silently. Raises DeltaError or LimitError."""
    r = _Reader(delta)
    _read_header_magic(r)
    hdr = r.byte("the header indicator")
    if hdr & ~(VCD_DECOMPRESS | VCD_CODETABLE | VCD_APPHEADER):
        raise _error("corrupt", f"unknown header indicator bits {hdr:#04x}")
    if hdr & VCD_DECOMPRESS:
        r.byte("the secondary compressor id")
    if hdr & VCD_CODETABLE:
        raise _error("unsupported", "application-defined code tables are not supported")
    expected = None
    if hdr & VCD_APPHEADER:
        app = r.take(r.varint("the application header length"), "its application header")
        if app.startswith(LENGTH_APPHEADER) and app[len(LENGTH_APPHEADER) :].isdigit():
            expected = int(app[len(LENGTH_APPHEADER) :])
            if expected > max_output:
                raise LimitError(f"the delta decodes to {expected} bytes, over the limit of {max_output} bytes", "limit-exceeded")
    out = bytearray()
    windows = 0
    while not r.at_end():
        if deadline is not None and time.monotonic() > deadline:
            raise LimitError("the call ran past its time limit", "limit-exceeded")
        _decode_window(r, old, out, max_output, expected, windows if verify else None)
        windows += 1
        if progress:
            progress(r.pos, len(delta))
    if windows == 0:
        raise _error("truncated", "the delta ends after its header (no windows)")
    if expected is not None and expected != len(out):
        raise _error("truncated", f"the delta ends early: it decodes to {len(out)} of the {expected} bytes it announces")
    return bytes(out)


def _read_header_magic(r: _Reader) -> None:
    if r.end == 0:
        raise _error("truncated", "the delta is empty")
    head = r.buf[: min(4, r.end)]
    if bytes(head[:3]) != MAGIC[: len(head[:3])]:
        raise _error("corrupt", "not a VCDIFF delta (bad magic bytes)")
    if r.end < 4:
        raise _error("truncated", "the delta ends inside its header")
    if r.buf[3] != 0:
        raise _error("unsupported", f"VCDIFF version {r.buf[3]} is not supported")
    r.pos = 4


def _decode_window(
    r: _Reader, old: bytes | memoryview, out: bytearray, max_output: int, expected: int | None, verify_index: int | None
) -> None:
    """Decodes one window onto `out`; `verify_index` is the window's number
    when it must carry a checksum (None: verification off)."""
    win = r.byte("a window indicator")
    if win & ~(VCD_SOURCE | VCD_TARGET | VCD_ADLER32):
        raise _error("corrupt", f"unknown window indicator bits {win:#04x}")
    if win & VCD_TARGET:
        raise _error("unsupported", "windows that copy from earlier target windows (VCD_TARGET) are not supported")
    seg_len = seg_pos = 0
    if win & VCD_SOURCE:
        seg_len = r.varint("the source segment length")
        seg_pos = r.varint("the source segment position")
    delta_len = r.varint("the window length")
    start = r.pos
    tgt_len = r.varint("the target window length")
    if r.byte("the delta indicator"):
        raise _error("unsupported", "secondary compression (djw, lzma, fgk) is not supported: make the delta with `xdelta3 -S none`")
    data_len = r.varint("the data section length")
    inst_len = r.varint("the instruction section length")
    addr_len = r.varint("the address section length")
    checksum = int.from_bytes(r.take(4, "the window checksum"), "big") if win & VCD_ADLER32 else None
    if data_len + inst_len + addr_len > U64_MAX:
        raise _error("corrupt", "section lengths overflow")
    if r.pos - start + data_len + inst_len + addr_len != delta_len:
        raise _error("corrupt", "window length does not match its sections")
    if tgt_len > MAX_TARGET_WINDOW:
        raise _error("corrupt", f"target window of {tgt_len} bytes exceeds the {MAX_TARGET_WINDOW}-byte maximum")
    if expected is not None and len(out) + tgt_len > expected:
        raise _error("corrupt", "the delta decodes to more bytes than it announces")
    if len(out) + tgt_len > max_output:
        raise LimitError(f"output would exceed the limit of {max_output} bytes", "limit-exceeded")
    if verify_index is not None and checksum is None:
        raise _error(
            "unverified",
            f"window {verify_index} has no checksum, so its output cannot be verified against the old version: "
            "decode with verify=False (--no-verify) only if you know the old version is the right one",
        )
    if data_len + inst_len + addr_len > r.end - r.pos:
        raise _error("truncated", "the delta ends inside a window")
    data = r.take(data_len, "a data section")
    inst = _Reader(r.take(inst_len, "an instruction section"))
    addrs = _Reader(r.take(addr_len, "an address section"))
    # (Checked once the window is read whole, as the component checks it.)
    if seg_pos + seg_len > len(old):
        end = min(seg_pos + seg_len, U64_MAX)
        raise _error(
            "wrong-source", f"the delta refers to source bytes {seg_pos}..{end} but the source has only {len(old)} bytes: wrong source?"
        )
    seg = bytes(old[seg_pos : seg_pos + seg_len])
    w = _run_window(seg, data, inst, addrs, tgt_len)
    if checksum is not None and (actual := zlib.adler32(w)) != checksum:
        raise _error(
            "checksum-mismatch",
            f"window checksum mismatch (stored {checksum:#010x}, decoded {actual:#010x}): wrong source or corrupt delta",
        )
    out += w


def _run_window(seg: bytes, data: bytes, inst: _Reader, addrs: _Reader, tgt_len: int) -> bytearray:
    out = bytearray()
    cache = _AddrCache()
    seg_len = len(seg)
    dp = 0
    table = TABLE
    while not inst.at_end():
        for kind, size, mode in table[inst.byte("an instruction")]:
            if kind == NOOP:
                continue
            if size == 0:
                size = inst.varint("an instruction size")
            if size > tgt_len - len(out):
                raise _error("corrupt", "an instruction overflows its target window")
            if kind == ADD:
                if dp + size > len(data):
                    raise _error("corrupt", "an ADD runs past the data section")
                out += data[dp : dp + size]
                dp += size
            elif kind == RUN:
                if dp >= len(data):
                    raise _error("corrupt", "a RUN runs past the data section")
                out += bytes((data[dp],)) * size
                dp += 1
            else:
                addr = cache.decode(seg_len + len(out), mode, addrs)
                if addr < seg_len:
                    part = seg[addr : addr + size]
                    out += part
                    size -= len(part)
                    addr = seg_len
                start = addr - seg_len
                # Overlapping copies repeat the bytes between start and the end.
                while size > 0:
                    chunk = out[start : start + size]
                    out += chunk
                    size -= len(chunk)
    if dp != len(data) or not addrs.at_end():
        raise _error("corrupt", "a window has unused data or addresses")
    if len(out) != tgt_len:
        raise _error("corrupt", "a window's instructions do not fill its target length")
    return out


# --- encoding ------------------------------------------------------------------------

BLOCK = 16  # bytes per index entry, and the stride of the index
MAX_COMPARE = 1 << 16


def encode(
    old: bytes | memoryview,
    new: bytes | memoryview,
    checksum: bool = True,
    progress: Progress | None = None,
    deadline: float | None = None,
    window_size: int = 0,
) -> bytes:
    """Encodes `new` against `old`: an index of `old`'s aligned 16-byte blocks,
    a guess that an edit kept its length, and forward/backward extension;
    `window_size` bytes of `new` per window (0: 8 MiB)."""
    step = window_size or WINDOW_SIZE
    src, tgt = _sliceable(old), _sliceable(new)
    index: dict[bytes, int] = {}
    for i in range(0, len(src) - BLOCK + 1, BLOCK):
        index.setdefault(src[i : i + BLOCK], i)
    out = bytearray(MAGIC + b"\x00" + bytes((VCD_APPHEADER,)))
    app = LENGTH_APPHEADER + str(len(tgt)).encode()
    _varint(out, len(app))
    out += app
    for t0 in range(0, max(len(tgt), 1), step):
        if deadline is not None and time.monotonic() > deadline:
            raise LimitError("the call ran past its time limit", "limit-exceeded")
        window = tgt[t0 : t0 + step]
        ops = _find_ops(src, index, window)
        _write_window(out, src, window, ops, checksum)
        if progress:
            progress(t0 + len(window), len(tgt))
    return bytes(out)


def _sliceable(data: bytes | memoryview | mmap.mmap) -> Sliceable:
    """`data` as something whose slices are bytes (dictionary keys, fast
    comparisons), without a copy where it can: bytes and a memory map (also
    a whole view of one, as `DeltaEncoder.encode_file` passes) slice to
    bytes themselves; anything else is copied once."""
    if isinstance(data, memoryview) and isinstance(data.obj, bytes | mmap.mmap) and data.nbytes == len(data.obj):
        return data.obj
    if isinstance(data, bytes | mmap.mmap):
        return data
    return bytes(data)


def _match_len(a: Sliceable, ai: int, b: Sliceable, bi: int) -> int:
    """Length of the common prefix of a[ai:] and b[bi:]: compared in doubling
    then halving chunks, so long matches cost few slice comparisons. Chunks
    stop doubling at MAX_COMPARE: each is a copy, and a match can be megabytes."""
    limit = min(len(a) - ai, len(b) - bi)
    n, step = 0, 64
    while n < limit:
        step = min(step, limit - n)
        if a[ai + n : ai + n + step] == b[bi + n : bi + n + step]:
            n += step
            step = min(step * 2, MAX_COMPARE)
        elif step == 1:
            break
        else:
            step //= 2
    return n


def _find_ops(old: Sliceable, index: dict[bytes, int], tgt: bytes) -> list[tuple[int, int, int]]:
    """Ops as (kind, position, length): ADD from the target, COPY from the
    source (kind COPY) or from earlier in the target (kind RUN, reused here as
    'target copy')."""
    ops: list[tuple[int, int, int]] = []
    n = len(tgt)
    t = lit = 0
    offset: int | None = None  # source minus target position of the last copy
    while t + 8 <= n:
        cand = -1
        if offset is not None and 0 <= t + offset < len(old) and old[t + offset : t + offset + 8] == tgt[t : t + 8]:
            cand = t + offset
        elif t + BLOCK <= n:
            cand = index.get(tgt[t : t + BLOCK], -1)
        if cand < 0:
            t += 1
            continue
        fwd = _match_len(old, cand, tgt, t)
        back = 0
        while back < t - lit and back < cand and old[cand - 1 - back] == tgt[t - 1 - back]:
            back += 1
        if fwd + back < 8:
            t += 1
            continue
        start = t - back
        if start > lit:
            ops.append((ADD, lit, start - lit))
        ops.append((COPY, cand - back, fwd + back))
        offset = cand - t
        t = lit = start + fwd + back
    if lit < n:
        ops.append((ADD, lit, n - lit))
    return ops


def _write_window(out: bytearray, old: Sliceable, tgt: bytes, ops: list[tuple[int, int, int]], checksum: bool) -> None:
    copies = [(p, p + n) for kind, p, n in ops if kind == COPY]
    lo = min((a for a, _ in copies), default=0)
    seg_len = max((b for _, b in copies), default=0) - lo
    data, inst, addrs = bytearray(), bytearray(), bytearray()
    cache = _AddrCache()
    here = seg_len
    i = 0
    while i < len(ops):
        kind, pos, n = ops[i]
        if kind == ADD:
            data += tgt[pos : pos + n]
            here += n
            if i + 1 < len(ops) and ops[i + 1][0] == COPY:
                cpos, cn = ops[i + 1][1], ops[i + 1][2]
                mode = cache.encode(cpos - lo, here, addrs)
                here += cn
                pair = _PAIR.get(((ADD, n, 0), (COPY, cn, mode)))
                if pair is not None:
                    inst.append(pair)
                else:
                    _push(inst, ADD, n, 0)
                    _push(inst, COPY, cn, mode)
                i += 2
                continue
            _push(inst, ADD, n, 0)
        else:
            mode = cache.encode(pos - lo, here, addrs)
            here += n
            _push(inst, COPY, n, mode)
        i += 1
    body = bytearray()
    _varint(body, len(tgt))
    body.append(0)
    for section in (data, inst, addrs):
        _varint(body, len(section))
    if checksum:
        body += zlib.adler32(tgt).to_bytes(4, "big")
    out.append((VCD_SOURCE if seg_len else 0) | (VCD_ADLER32 if checksum else 0))
    if seg_len:
        _varint(out, seg_len)
        _varint(out, lo)
    _varint(out, len(body) + len(data) + len(inst) + len(addrs))
    out += body + data + inst + addrs


def _push(inst: bytearray, kind: int, size: int, mode: int) -> None:
    """One instruction: its size in the opcode where the table has one, else after it."""
    op = _SINGLE.get((kind, size, mode))
    if op is not None and size:
        inst.append(op)
        return
    inst.append(_SINGLE[(kind, 0, mode)])
    _varint(inst, size)
