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
from array import array
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

    def _choose(self, addr: int, here: int) -> tuple[int, int | None, int]:
        """The cheapest mode for `addr` at `here`, the value it writes (None:
        a byte of the same cache) and the bytes that takes."""
        idx = addr % (SAME * 256)
        if self.same[idx] == addr:
            return 2 + NEAR + idx // 256, None, 1
        mode, best = 0, addr
        if _vlen(here - addr) < _vlen(best):
            mode, best = 1, here - addr
        for i, n in enumerate(self.near):
            if addr >= n and _vlen(addr - n) < _vlen(best):
                mode, best = 2 + i, addr - n
        return mode, best, _vlen(best)

    def cost(self, addr: int, here: int) -> int:
        """Bytes the address of a COPY from `addr` at `here` would take now."""
        return self._choose(addr, here)[2]

    def note(self, addr: int) -> None:
        """Records a COPY from `addr` without writing it (the encoder's model)."""
        self._update(addr)

    def encode(self, addr: int, here: int, out: bytearray) -> int:
        mode, value, _ = self._choose(addr, here)
        if value is None:
            out.append(addr % 256)
        else:
            _varint(out, value)
        self._update(addr)
        return mode


def _vlen(v: int) -> int:
    """Bytes `v` takes as a varint."""
    return (v.bit_length() + 6) // 7 or 1


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
#
# The component's matcher (guest/src/vcdiff/matcher.rs), in Python: the same
# candidates and the same choice among them, each step done where CPython is
# fast (slices compared and searched in C, dictionaries of slices). Where a
# step costs Python far more than it saves, it is left out: the old version
# is indexed every 16th position, not every 8th; the new version is not
# indexed (recently visited positions still are); and a few bytes rewritten
# in place are stepped over. On the real corpus (tests/corpus.py) that costs
# its deltas a few percent beside the component's, for 2-3x the speed.

HASH_LEN = 24  # bytes per index key
STRIDE = 16  # distance between indexed positions
CHAIN_DEPTH = 16  # candidates tried per index lookup
MIN_PREDICTED = 6
MIN_NEAR = 8
MIN_TARGET = 12
PROBE = 8  # offsets probed either side of the predicted one
NEAR_UNTIL, NEAR_STEP = 32, 4
LOCAL, LOCAL_BELOW = 256, 16
LONG_MATCH = 1024
LAZY_BELOW = 128
RESYNC = 16
OVERLAP = 4096
MIN_KEPT_COPY = 4
MAX_SIZE_IN_OPCODE = 18
MAX_COMPARE = 1 << 16
TCOPY = 4  # an op kind of the encoder's own: a copy from earlier in the target

Op = tuple[int, int, int]  # (ADD, start in target, len) | (COPY, source pos, len) | (TCOPY, target pos, len)


def encode(
    old: bytes | memoryview,
    new: bytes | memoryview,
    checksum: bool = True,
    progress: Progress | None = None,
    deadline: float | None = None,
    window_size: int = 0,
) -> bytes:
    """Encodes `new` against `old` with the component's matcher: an index of
    `old`, one of each window of `new` as it is scanned, and at each position
    the copy that saves most bytes; `window_size` bytes of `new` per window
    (0: 8 MiB)."""
    step = window_size or WINDOW_SIZE
    src, tgt = _sliceable(old), _sliceable(new)
    index = _Index()
    index.extend(src, len(src))
    # The length header only where the new version takes several windows
    # (a one-window delta cut anywhere is incomplete by itself), as the
    # component writes it.
    if len(tgt) > step:
        out = bytearray(MAGIC + b"\x00" + bytes((VCD_APPHEADER,)))
        app = LENGTH_APPHEADER + str(len(tgt)).encode()
        _varint(out, len(app))
        out += app
    else:
        out = bytearray(MAGIC + b"\x00\x00")
    for t0 in range(0, max(len(tgt), 1), step):
        if deadline is not None and time.monotonic() > deadline:
            raise LimitError("the call ran past its time limit", "limit-exceeded")
        window = bytes(tgt[t0 : t0 + step])
        ops = _Search(src, index, window, t0).find_ops()
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
    """Length of the common prefix of a[ai:] and b[bi:]: equal chunks of
    doubling size are skipped by one slice comparison each, and the first
    unequal one is placed by the XOR of its bytes as integers, all in C.
    Chunks stop doubling at MAX_COMPARE: each is a copy, and a match can be
    megabytes."""
    limit = min(len(a) - ai, len(b) - bi)
    n, step = 0, 32
    while n < limit:
        end = n + step if n + step < limit else limit
        x, y = a[ai + n : ai + end], b[bi + n : bi + end]
        if x != y:
            diff = int.from_bytes(x, "big") ^ int.from_bytes(y, "big")
            return n + (8 * (end - n) - diff.bit_length()) // 8
        n = end
        if step < MAX_COMPARE:
            step *= 2
    return n


def _back_len(a: Sliceable, ai: int, b: Sliceable, bi: int, limit: int) -> int:
    """How many bytes before a[ai] and b[bi] are equal, at most `limit` (as
    `_match_len`, backwards)."""
    limit = min(limit, ai, bi)
    n, step = 0, 32
    while n < limit:
        end = n + step if n + step < limit else limit
        x, y = a[ai - end : ai - n], b[bi - end : bi - n]
        if x != y:
            diff = int.from_bytes(x, "little") ^ int.from_bytes(y, "little")
            return n + (8 * (end - n) - diff.bit_length()) // 8
        n = end
        if step < MAX_COMPARE:
            step *= 2
    return n


class _Index:
    """Positions every STRIDE bytes by their HASH_LEN bytes, each chained to
    the previous position with the same bytes (the component's hash chain,
    keyed by the bytes themselves)."""

    __slots__ = ("head", "prev")

    def __init__(self) -> None:
        self.head: dict[bytes, int] = {}
        # An array, not a list: 8 bytes a position instead of a pointer and an int object.
        self.prev = array("q")

    def extend(self, data: Sliceable, end: int) -> None:
        """Adds the positions below `end` not yet indexed."""
        head, prev = self.head, self.prev
        stop = min(end, len(data) - HASH_LEN + 1)
        for i in range(len(prev) * STRIDE, stop, STRIDE):
            key = data[i : i + HASH_LEN]
            prev.append(head.get(key, -1))
            head[key] = i

    def chain(self, key: bytes) -> list[int]:
        """The latest CHAIN_DEPTH positions of `key`, latest first."""
        out: list[int] = []
        p = self.head.get(key, -1)
        while p >= 0 and len(out) < CHAIN_DEPTH:
            out.append(p)
            p = self.prev[p // STRIDE]
        return out


class _Search:
    """The matcher over one target window (see the component's matcher.rs for
    the reasons behind each candidate and constant)."""

    def __init__(self, src: Sliceable, index: _Index, tgt: bytes, t0: int) -> None:
        self.src, self.index, self.tgt = src, index, tgt
        self.table: dict[bytes, int] = {}  # recently visited target positions by their first 8 bytes
        self.cache = _AddrCache()  # a model of the encoder's address cache
        # Source minus target position of the last source copy (first: the
        # window's own place in the old version), and of the last long one.
        self.offset = self.anchor = t0

    def find_ops(self) -> list[Op]:
        n = len(self.tgt)
        ops: list[Op] = []
        t = lit = 0
        while t + 8 <= n:
            best = self._best_at(t, lit)
            if best is not None and best[2] < LAZY_BELOW and t + 9 <= n:
                later = self._best_at(t + 1, lit)
                if later is not None and later[0] > best[0] + 1:
                    t += 1
                    best = later
            if best is None:
                t += self._resync(t) or 1 + min((t - lit) >> 9, 15)
                continue
            _, back, length, kind, pos = best
            start = t - back
            lit = self._emit(ops, lit, start, kind, pos, length)
            t = start + length
            if kind == COPY:
                self.offset = pos - start
                if length >= LONG_MATCH:
                    self.anchor = self.offset
        if lit < n:
            ops.append((ADD, lit, n - lit))
        return ops

    def _resync(self, t: int) -> int:
        """How far ahead of `t`, within RESYNC bytes, the last copy's offset
        matches 8 bytes again (0: not there). A few bytes rewritten in place,
        the commonest edit, then cost one search instead of one a byte."""
        src, tgt, p = self.src, self.tgt, t + self.offset
        for j in range(1, RESYNC + 1):
            if 0 <= p + j and src[p + j : p + j + 8] == tgt[t + j : t + j + 8] and t + j + 8 <= len(tgt):
                return j
        return 0

    def _emit(self, ops: list[Op], lit: int, start: int, kind: int, pos: int, length: int) -> int:
        """Appends the literal bytes before `start` and the copy; a copy that
        starts before `lit` shortens or drops the ops it reaches back over.
        Returns the new end of what the ops cover."""
        while start < lit:
            k, p, n = ops[-1]
            begins = lit - n
            if begins >= start or start - begins < MIN_KEPT_COPY:
                lit = begins
                ops.pop()
            else:
                ops[-1] = (k, p, start - begins)
                lit = start
        if start > lit:
            if ops and ops[-1][0] == ADD and ops[-1][1] + ops[-1][2] == lit:
                ops[-1] = (ADD, ops[-1][1], start - ops[-1][1])
            else:
                ops.append((ADD, lit, start - lit))
        self.cache.note(self._addr(kind, pos))
        ops.append((kind, pos, length))
        return start + length

    def _addr(self, kind: int, pos: int) -> int:
        return pos if kind == COPY else len(self.src) + pos

    def _consider(
        self, best: tuple[int, int, int, int, int] | None, kind: int, p: int, t: int, back: int, fwd: int, pending: int
    ) -> tuple[int, int, int, int, int] | None:
        """The better of `best` and the copy from `p - back` covering t - back .. t + fwd,
        as (gain, back, length, kind, position)."""
        length = back + fwd
        size = _vlen(length) if length > MAX_SIZE_IN_OPCODE else 0
        new = length - max(back - pending, 0)
        if best is not None and new - size - 1 < best[0]:
            return best
        pos = p - back
        gain = new - size - self.cache.cost(self._addr(kind, pos), len(self.src) + t - back)
        if best is None or gain > best[0] or (gain == best[0] and length > best[2]):
            return (gain, back, length, kind, pos)
        return best

    def _source(
        self, best: tuple[int, int, int, int, int] | None, p: int, t: int, pending: int, reach: int, least: int
    ) -> tuple[int, int, int, int, int] | None:
        fwd = _match_len(self.src, p, self.tgt, t)
        if fwd < least:
            return best
        back = _back_len(self.src, p, self.tgt, t, reach)
        return self._consider(best, COPY, p, t, back, fwd, pending)

    def _best_at(self, t: int, lit: int) -> tuple[int, int, int, int, int] | None:
        src, tgt = self.src, self.tgt
        pending = t - lit
        reach = pending + min(lit, OVERLAP)
        best = None
        predicted = None
        if 0 <= t + self.offset < len(src):
            predicted = p = t + self.offset
            best = self._source(best, p, t, pending, pending, MIN_PREDICTED)
            if pending < NEAR_UNTIL and pending % NEAR_STEP == 0 and t + 8 <= len(tgt):
                needle = tgt[t : t + 8]
                lo = max(p - PROBE, 0)
                q = src.find(needle, lo, p + PROBE + 8)
                while q >= 0:
                    if q != p:
                        best = self._source(best, q, t, pending, pending, MIN_NEAR)
                    q = src.find(needle, q + 1, p + PROBE + 8)
        if pending == 0 and (best is None or best[2] < LOCAL_BELOW) and t + 8 <= len(tgt):
            needle = tgt[t : t + 8]
            anchored = t + self.anchor
            for c in dict.fromkeys(x for x in (predicted, anchored) if x is not None):  # each place once
                if 0 <= c and c + 8 <= len(src):
                    lo, hi = max(c - LOCAL, 0), min(c + LOCAL, len(src) - 8)
                    for q in (src.find(needle, c, hi + 8), src.rfind(needle, lo, c + 7)):
                        if q >= 0:
                            best = self._source(best, q, t, pending, reach, MIN_NEAR)
        if (best is None or best[2] < LONG_MATCH) and t + HASH_LEN <= len(tgt):
            key = tgt[t : t + HASH_LEN]
            for q in self.index.chain(key):
                if q != predicted:
                    best = self._source(best, q, t, pending, reach, HASH_LEN)
                    if best is not None and best[2] >= LONG_MATCH:
                        break
        key8 = tgt[t : t + 8]
        seen = self.table.get(key8)
        self.table[key8] = t
        if seen is not None:
            fwd = _match_len(tgt, seen, tgt, t)
            if fwd >= MIN_TARGET:
                back = _back_len(tgt, seen, tgt, t, min(reach, t - seen))
                best = self._consider(best, TCOPY, seen, t, back, fwd, pending)
        return best


def _write_window(out: bytearray, old: Sliceable, tgt: bytes, ops: list[Op], checksum: bool) -> None:
    copies = [(p, p + n) for kind, p, n in ops if kind == COPY]
    lo = min((a for a, _ in copies), default=0)
    seg_len = max((b for _, b in copies), default=0) - lo
    data, inst, addrs = bytearray(), bytearray(), bytearray()
    cache = _AddrCache()
    here = seg_len  # position in the source+target address space

    def address(kind: int, pos: int) -> int:
        return pos - lo if kind == COPY else seg_len + pos

    i = 0
    while i < len(ops):
        kind, pos, n = ops[i]
        if kind == ADD:
            data += tgt[pos : pos + n]
            here += n
            # ADD then COPY share one opcode when the table has the pair.
            if i + 1 < len(ops) and ops[i + 1][0] != ADD:
                ckind, cpos, cn = ops[i + 1]
                mode = cache.encode(address(ckind, cpos), here, addrs)
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
            mode = cache.encode(address(kind, pos), here, addrs)
            here += n
            # COPY(4) then ADD(1) share an opcode too.
            if i + 1 < len(ops) and ops[i + 1][0] == ADD and ops[i + 1][2] == 1:
                pair = _PAIR.get(((COPY, n, mode), (ADD, 1, 0)))
                if pair is not None:
                    inst.append(pair)
                    data += tgt[ops[i + 1][1] : ops[i + 1][1] + 1]
                    here += 1
                    i += 2
                    continue
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
