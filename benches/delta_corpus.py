"""Delta benchmark on the real corpus (tests/corpus.py): consecutive releases
of documents nobody here generated, every backend and method beside the tools
and libraries a user would pick instead, all measured in one run.

Small documents (every changed @mdn/browser-compat-data feature file of
10-500 KB over four releases): the median microseconds per document of an
encode and of a decode, and the total delta size. The tools run once per
document as a user would run them (their process start, a few ms, counted);
python-zstandard and bsdiff4 run in process. Large pairs: MB/s of the new
version (best of --repeat) and the delta size. Peak memory: a fresh process
per codec encodes and decodes the pair (all the small documents, one by one),
and the growth of its peak RSS over what the inputs took is printed (for the
tools, the peak of their own processes).

Usage: python benches/delta_corpus.py [--repeat N] [--check] [--no-memory]
--check exits non-zero when a target of the issues is missed.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial

from _targets import ROOT, Targets, best, with_hosts

from oms_accel import DeltaEncoder
from oms_accel.delta import encoders

sys.path.insert(0, str(ROOT / "tests"))
import corpus

OURS = [(b, m) for backend, m in encoders() for b in with_hosts([backend])]
Codec = tuple[Callable[[bytes, bytes], bytes], Callable[[bytes, bytes], bytes]]  # encode, decode


@contextmanager
def tool_files() -> Iterator[dict[str, str]]:
    tmp = tempfile.mkdtemp(dir="/dev/shm" if os.path.isdir("/dev/shm") else None)
    try:
        yield {k: os.path.join(tmp, k) for k in ("old", "new", "delta", "out")}
    finally:
        shutil.rmtree(tmp)


def tool(encode: list[str], decode: list[str], files: dict[str, str]) -> Codec:
    """A command-line tool as a codec over the files in `files`."""

    def run(command: list[str], inputs: dict[str, bytes], output: str) -> bytes:
        for key, data in inputs.items():
            with open(files[key], "wb") as f:
                f.write(data)
        subprocess.run(command, check=True, capture_output=True)
        with open(files[output], "rb") as f:
            return f.read()

    def enc(old: bytes, new: bytes) -> bytes:
        return run(encode, {"old": old, "new": new}, "delta")

    def dec(old: bytes, delta: bytes) -> bytes:
        return run(decode, {"old": old, "delta": delta}, "out")

    return enc, dec


def codecs(files: dict[str, str]) -> dict[str, Codec]:
    rows: dict[str, Codec] = {}
    for backend, method in OURS:
        e = DeltaEncoder(backend, method=method)  # type: ignore[arg-type]
        rows[f"{backend} {method}"] = (e.encode, e.decode)
    o, n, d, r = files["old"], files["new"], files["delta"], files["out"]
    if xd := shutil.which("xdelta3"):
        dec = [xd, "-d", "-f", "-s", o, d, r]
        rows["xdelta3 -9 -S none"] = tool([xd, "-e", "-f", "-S", "none", "-9", "-s", o, n, d], dec, files)
        rows["xdelta3"] = tool([xd, "-e", "-f", "-s", o, n, d], dec, files)
    if zs := shutil.which("zstd"):
        dec = [zs, "-q", "-d", "-f", f"--patch-from={o}", d, "-o", r]
        rows["zstd -3 --patch-from"] = tool([zs, "-q", "-f", "-3", f"--patch-from={o}", n, "-o", d], dec, files)
        rows["zstd -19 --patch-from"] = tool([zs, "-q", "-f", "-19", f"--patch-from={o}", n, "-o", d], dec, files)
    try:
        import zstandard

        def window_log(old: bytes, new: bytes) -> int:
            # As zstd --patch-from does: a window that reaches back over the whole old version.
            return min(max(len(old) + len(new), 1 << 10).bit_length(), 30)

        def zenc(old: bytes, new: bytes) -> bytes:
            prefix = zstandard.ZstdCompressionDict(old, dict_type=zstandard.DICT_TYPE_RAWCONTENT)
            params = zstandard.ZstdCompressionParameters.from_level(3, window_log=window_log(old, new), write_content_size=True)
            return zstandard.ZstdCompressor(compression_params=params, dict_data=prefix).compress(new)

        def zdec(old: bytes, delta: bytes) -> bytes:
            prefix = zstandard.ZstdCompressionDict(old, dict_type=zstandard.DICT_TYPE_RAWCONTENT)
            return zstandard.ZstdDecompressor(dict_data=prefix, max_window_size=1 << 30).decompress(delta)

        rows["python-zstandard -3"] = (zenc, zdec)
    except ImportError:
        pass
    try:
        import bsdiff4

        rows["bsdiff4"] = (bsdiff4.diff, bsdiff4.patch)
    except ImportError:
        pass
    return rows


def timed(fn: Callable[[], bytes]) -> tuple[float, bytes]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def small(rows: dict[str, Codec], memory: bool) -> dict[str, tuple[float, float, int]]:
    pairs = corpus.small_pairs()
    total_new = sum(len(n) for _, _, n in pairs)
    print(f"Small real documents: {len(pairs)} changed @mdn/browser-compat-data files of 10-500 KB ({total_new / 1e6:.1f} MB in all)")
    print(f"{'':<26} {'enc us':>10} {'dec us':>10} {'total bytes':>12} {'size/xd3-9':>11} {'rt/zstd':>8} {'peak MiB':>9}")
    out: dict[str, tuple[float, float, int]] = {}
    for name, (enc, dec) in rows.items():
        t_enc, t_dec, size = [], [], 0
        for label, old, new in pairs:
            te, delta = timed(partial(enc, old, new))
            td, back = timed(partial(dec, old, delta))
            assert back == new, f"{name} decoded {label} wrongly"
            t_enc.append(te)
            t_dec.append(td)
            size += len(delta)
        out[name] = (statistics.median(t_enc), statistics.median(t_dec), size)
    report(out, peaks(list(rows), "small") if memory else {})
    return out


def report(out: dict[str, tuple[float, float, int]], peak: dict[str, float]) -> None:
    xd9 = out.get("xdelta3 -9 -S none")
    zs = out.get("native zstd")
    for name, (e, d, size) in out.items():
        vs_xd = f"{size / xd9[2]:.3f}" if xd9 else "-"
        vs_zs = f"{(e + d) / (zs[0] + zs[1]):.2f}x" if zs else "-"
        mib = f"{peak[name]:.1f}" if name in peak else "-"
        print(f"{name:<26} {e * 1e6:>10.0f} {d * 1e6:>10.0f} {size:>12} {vs_xd:>11} {vs_zs:>8} {mib:>9}")


def pairs_named(which: str) -> list[corpus.Pair]:
    return corpus.small_pairs() if which == "small" else [p for p in corpus.large_pairs() if p[0] == which]


def peak_child(name: str, which: str) -> None:
    """(In a fresh process.) Prints the growth of peak RSS, in bytes, while
    `name` encodes and decodes the pairs `which` names, over what the process
    held before (the inputs); for a tool, the peak of its own processes."""
    pairs = pairs_named(which)
    with tool_files() as files:
        enc, dec = codecs(files)[name]
        enc(b"warm up" * 10, b"warm up!" * 10)  # the component compiled and loaded before measuring
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # the peak (VmHWM) restarts from what is held now
        base = _status_kib("VmRSS")
        for _, old, new in pairs:
            dec(old, enc(old, new))
        grown = _status_kib("VmHWM") - base
        tools = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(json.dumps(max(grown, tools) * 1024))


def _status_kib(key: str) -> int:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith(key + ":"))


def peaks(names: list[str], which: str) -> dict[str, float]:
    """MiB of peak memory of each codec on `which`, a fresh process each."""
    out = {}
    for name in names:
        run = subprocess.run([sys.executable, __file__, "--peak", name, which], check=True, capture_output=True, text=True)
        out[name] = json.loads(run.stdout) / 2**20
    return out


def large(rows: dict[str, Codec], repeat: int, memory: bool) -> dict[str, dict[str, tuple[float, float, int]]]:
    found: dict[str, dict[str, tuple[float, float, int]]] = {}
    for label, old, new in corpus.large_pairs():
        mb = len(new) / 1e6
        print(f"\n{label}: {len(old) / 1e6:.1f} MB -> {mb:.1f} MB; MB/s of the new version")
        print(f"{'':<26} {'encode MB/s':>11} {'decode MB/s':>11} {'delta bytes':>12} {'size/xd3-9':>11} {'peak MiB':>9}")
        table: dict[str, tuple[float, float, int]] = {}
        for name, (enc, dec) in rows.items():
            slow = name.startswith(("python", "bsdiff4"))
            t_enc, delta = best(partial(enc, old, new), 1 if slow else repeat)
            t_dec, back = best(partial(dec, old, delta), 1 if slow else repeat)
            assert back == new, f"{name} decoded {label} wrongly"
            table[name] = (mb / t_enc, mb / t_dec, len(delta))
        xd9 = table.get("xdelta3 -9 -S none")
        peak = peaks(list(rows), label) if memory else {}
        for name, (e, d, size) in table.items():
            vs_xd = f"{size / xd9[2]:.3f}" if xd9 else "-"
            mib = f"{peak[name]:.1f}" if name in peak else "-"
            print(f"{name:<26} {e:>11.1f} {d:>11.1f} {size:>12} {vs_xd:>11} {mib:>9}")
        found[label] = table
    return found


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--check", action="store_true")
    ap.add_argument("--no-memory", action="store_true", help="skip the peak-memory columns (a process per codec and pair)")
    ap.add_argument("--peak", nargs=2, metavar=("CODEC", "PAIRS"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if not corpus.available():
        corpus.fetch()
    if args.peak:
        peak_child(*args.peak)
        return 0
    with tool_files() as files:
        rows = codecs(files)
        small_rows = small(rows, not args.no_memory)
        large_rows = large(rows, args.repeat, not args.no_memory)
    if not args.check:
        return 0
    target = Targets()
    xd9 = small_rows.get("xdelta3 -9 -S none")
    wasm = small_rows.get("wasm/rust vcdiff") or small_rows.get("wasm/wasmtime-py vcdiff")
    py = small_rows.get("python vcdiff")
    if wasm and xd9:
        target(wasm[2] <= xd9[2], f"small real documents: wasm VCDIFF {wasm[2] / xd9[2]:.3f}x xdelta3 -9's total size (target 1.0)")
    if py and xd9:
        target(py[2] <= 1.1 * xd9[2], f"small real documents: python VCDIFF {py[2] / xd9[2]:.3f}x xdelta3 -9's total size (target 1.1)")
    xlib = small_rows.get("native xdelta3")
    if xlib and py:
        r = xlib[1] / py[1]
        target(r <= 1, f"small real documents: the xdelta3 library decodes in {r:.2f}x the python decoder's time (target at most 1x)")
    rust, zs = small_rows.get("wasm/rust vcdiff"), small_rows.get("native zstd")
    if rust and zs:
        r = (rust[0] + rust[1]) / (zs[0] + zs[1])
        target(r <= 2, f"small real documents: rust-host VCDIFF round trip {r:.2f}x native zstd's (target at most 2x)")
    concatenation = large_rows[corpus.concatenation()[0]]
    cw = concatenation.get("wasm/rust vcdiff") or concatenation.get("wasm/wasmtime-py vcdiff")
    cx9, cx = concatenation.get("xdelta3 -9 -S none"), concatenation.get("xdelta3")
    if cw and cx9:
        target(cw[2] <= cx9[2], f"concatenation: wasm VCDIFF {cw[2] / cx9[2]:.3f}x xdelta3 -9's size (target 1.0)")
    if cw and cx:
        target(cw[0] >= cx[0], f"concatenation: wasm VCDIFF encode {cw[0] / cx[0]:.2f}x the xdelta3 tool's speed (target 1)")
    return target.exit_status()


if __name__ == "__main__":
    sys.exit(main())
