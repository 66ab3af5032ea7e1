"""Delta benchmark: every backend and method beside the tools a user would pick
instead, all measured in one run.

Data: a generated JSON document of 8 MiB (oms_accel.samples), and a new version
with 1% of its bytes edited in scattered runs plus 4 inserts and 4 deletes.
Speeds are MB/s of the new version, best of several runs; for our backends every
copy between Python and the encoder is counted. The wasm backend has a row per
host (wasm/rust, wasm/wasmtime-py), and `guest native` is the component's own
VCDIFF code compiled natively on the same files: the sandbox's price. Peers:
the xdelta3 and zstd command-line tools on files in tmpfs (their process
start, a few ms, included) and bsdiff4 from PyPI (in process).

`wasm/rust vcdiff, no limit` is the Rust host with `Limits(timeout_s=None)`:
the component compiled without the epoch checks that a time limit needs.

Usage: python benches/rust_vs_python.py [--size BYTES] [--repeat N] [--check]
--check exits non-zero when a target of the issues is missed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile

from _targets import Targets, best, guest_native, with_hosts

from oms_accel import DeltaEncoder, Limits
from oms_accel.delta import encoders
from oms_accel.samples import document, edit

#: Every (backend, method) pair that works here, from the capability's own
#: table, the wasm backend once per host.
OURS = [(b, m) for backend, m in encoders() for b in with_hosts([backend])]
Row = tuple[float, float, int]  # encode MB/s, decode MB/s, delta bytes


def run_tool(rows: dict[str, Row], label: str, enc: list[str], dec: list[str], files: dict[str, str], new: bytes, repeat: int) -> None:
    mb = len(new) / 1e6
    t_enc, _ = best(lambda: subprocess.run(enc, check=True, capture_output=True), repeat)
    t_dec, _ = best(lambda: subprocess.run(dec, check=True, capture_output=True), repeat)
    with open(files["out"], "rb") as f:
        assert f.read() == new, f"{label} decoded wrongly"
    rows[label] = (mb / t_enc, mb / t_dec, os.path.getsize(files["delta"]))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=8 << 20)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--check", action="store_true")
    args = ap.parse_args()

    old = document(args.size, seed=42)
    new = edit(old, 0.01, seed=7)
    mb = len(new) / 1e6
    rows: dict[str, Row] = {}

    for backend, method in OURS:
        enc = DeltaEncoder(backend, method=method)  # type: ignore[arg-type]
        reps = args.repeat if backend != "python" else max(1, args.repeat // 2)
        t_enc, delta = best(lambda enc=enc: enc.encode(old, new), reps)
        assert isinstance(delta, bytes)
        t_dec, back = best(lambda enc=enc, delta=delta: enc.decode(old, delta), reps)
        assert back == new, f"{backend}/{method} decoded wrongly"
        rows[f"{backend} {method}"] = (mb / t_enc, mb / t_dec, len(delta))
        if backend == "wasm/rust":
            # Limits(timeout_s=None): the component compiled without epoch checks.
            free = DeltaEncoder(backend, method=method, limits=Limits(timeout_s=None))  # type: ignore[arg-type]
            free.encode(old, new)  # compiles (or loads) the untimed code outside the timing
            t_enc, delta = best(lambda free=free: free.encode(old, new), reps)
            t_dec, _ = best(lambda free=free, delta=delta: free.decode(old, delta), reps)
            rows[f"{backend} {method}, no limit"] = (mb / t_enc, mb / t_dec, len(delta))

    tmp = tempfile.mkdtemp(dir="/dev/shm" if os.path.isdir("/dev/shm") else None)
    try:
        files = {k: os.path.join(tmp, k) for k in ("old", "new", "delta", "out")}
        for key, data in (("old", old), ("new", new)):
            with open(files[key], "wb") as f:
                f.write(data)
        o, n, d, r = files["old"], files["new"], files["delta"], files["out"]
        native = guest_native("vcdiff", o, n, args.repeat)
        rows["guest native"] = (mb / native["encode"], mb / native["decode"], int(native["delta_bytes"]))
        if xd := shutil.which("xdelta3"):
            dec = [xd, "-d", "-f", "-s", o, d, r]
            run_tool(rows, "xdelta3 -9", [xd, "-e", "-f", "-S", "none", "-9", "-s", o, n, d], dec, files, new, args.repeat)
            run_tool(rows, "xdelta3", [xd, "-e", "-f", "-S", "none", "-s", o, n, d], dec, files, new, args.repeat)
        if zs := shutil.which("zstd"):
            dec = [zs, "-q", "-d", "-f", f"--patch-from={o}", d, "-o", r]
            run_tool(rows, "zstd -3", [zs, "-q", "-f", "-3", f"--patch-from={o}", n, "-o", d], dec, files, new, args.repeat)
    finally:
        shutil.rmtree(tmp)
    try:
        import bsdiff4

        t_enc, patch = best(lambda: bsdiff4.diff(old, new), 1)
        assert isinstance(patch, bytes)
        t_dec, back = best(lambda: bsdiff4.patch(old, patch), args.repeat)
        assert back == new
        rows["bsdiff4"] = (mb / t_enc, mb / t_dec, len(patch))
    except ImportError:
        pass

    print(f"Deltas: {len(old) / 2**20:.1f} MiB JSON document, 1% of bytes edited in runs, 4 inserts, 4 deletes; MB/s of the new version")
    header = ("", "encode MB/s", "decode MB/s", "delta bytes", "size/xd3-9", "size/zstd-3", "enc/python", "enc/xd3", "dec/xd3")
    print(f"{header[0]:<27} " + " ".join(f"{h:>11}" for h in header[1:]))

    def ratio(a: float, row: str, i: int, fmt: str) -> str:
        return format(a / rows[row][i], fmt) if row in rows else "-"

    for name, (e, d, size) in rows.items():
        cells = (
            f"{e:.1f}",
            f"{d:.1f}",
            str(size),
            ratio(size, "xdelta3 -9", 2, ".3f"),
            ratio(size, "zstd -3", 2, ".3f"),
            ratio(e, "python vcdiff", 0, ".1f") + "x",
            ratio(e, "xdelta3", 0, ".2f") + "x",
            ratio(d, "xdelta3", 1, ".2f") + "x",
        )
        print(f"{name:<27} " + " ".join(f"{c:>11}" for c in cells))
    free, native = rows.get("wasm/rust vcdiff, no limit"), rows.get("guest native")
    if free and native:
        print(f"(without a time limit the rust host's encode takes {native[0] / free[0]:.2f}x the guest code native's time)")

    small = small_documents(args.repeat)
    if not args.check:
        return 0
    target = Targets()

    wasm = rows.get("wasm/rust vcdiff") or rows.get("wasm/wasmtime-py vcdiff")
    py, xd9 = rows.get("python vcdiff"), rows.get("xdelta3 -9")
    if wasm and py:
        target(wasm[0] >= 50 * py[0], f"wasm encode {wasm[0] / py[0]:.1f}x the python backend (target 50x)")
    if wasm:
        target(wasm[1] >= 200, f"wasm decode {wasm[1]:.0f} MB/s (target 200)")
    if wasm and xd9:
        target(wasm[2] <= 1.10 * xd9[2], f"wasm delta {wasm[2] / xd9[2]:.3f}x xdelta3 -9's (target 1.10)")
    rust, portable, native = rows.get("wasm/rust vcdiff"), rows.get("wasm/wasmtime-py vcdiff"), rows.get("guest native")
    if rust and portable:
        target(rust[0] >= 2 * portable[0], f"rust-host encode {rust[0] / portable[0]:.2f}x the wasmtime-py host's (target 2x)")
    if rust and native:
        gap = native[0] / rust[0]
        target(gap <= 1.5, f"rust-host encode {gap:.2f}x slower than the guest code native (target at most 1.5x)")
    if rust:
        target(rust[1] >= 1500, f"rust-host decode {rust[1]:.0f} MB/s from Python (target 1500)")
    nat, xd, zs = rows.get("native zstd"), rows.get("xdelta3"), rows.get("zstd -3")
    if nat and xd:
        target(nat[0] >= xd[0], f"native encode {nat[0] / xd[0]:.2f}x xdelta3 -e -S none (target 1)")
    if nat:
        target(nat[1] >= 2000, f"native decode {nat[1]:.0f} MB/s (target 2000)")
    if nat and zs:
        target(nat[2] <= 1.10 * zs[2], f"native delta {nat[2] / zs[2]:.3f}x zstd --patch-from -3's (target 1.10)")
    if "wasm/rust vcdiff" in small and "native zstd" in small:
        r = small["wasm/rust vcdiff"][0] / small["native zstd"][0]
        target(r <= 2, f"16 KiB round trip on the rust host {r:.2f}x the native zstd path's time (target at most 2x)")
    return target.exit_status()


def small_documents(repeat: int) -> dict[str, list[float]]:
    """The typical document of a store is small, where fixed costs per call
    dominate: microseconds per document for one encode plus one decode."""
    print("\nSmall documents, 1% of bytes edited: microseconds per document for an encode plus a decode")
    sizes = (16 << 10, 256 << 10)
    print(f"{'':<24} " + " ".join(f"{f'{s >> 10} KiB us':>12} {'vs zstd':>8}" for s in sizes))
    pairs = [(document(s, seed=11), edit(document(s, seed=11), 0.01, seed=12)) for s in sizes]
    times: dict[str, list[float]] = {}
    for backend, method in OURS:
        enc = DeltaEncoder(backend, method=method)  # type: ignore[arg-type]
        row = []
        for old, new in pairs:
            count = max(1, (4 << 20) // len(new)) if backend != "python" else 4

            def round_trip(enc: DeltaEncoder = enc, old: bytes = old, new: bytes = new, count: int = count) -> None:
                for _ in range(count):
                    assert enc.decode(old, enc.encode(old, new)) == new

            row.append(best(round_trip, repeat)[0] / count)
        times[f"{backend} {method}"] = row
    for name, row in times.items():
        base = times.get("native zstd")
        cells = [f"{t * 1e6:>12.1f} {(f'{t / base[i]:.2f}x' if base else '-'):>8}" for i, t in enumerate(row)]
        print(f"{name:<24} " + " ".join(cells))
    return times


if __name__ == "__main__":
    sys.exit(main())
