"""Delta benchmark: every delta backend beside the xdelta3 tool, in one run.

Data: a generated JSON document of 8 MiB (oms_accel.samples), and a new version
with 1% of its bytes edited in scattered runs plus a few inserts and deletes.
Speeds are MB/s of the new version, best of several runs; every copy between
Python and the component is counted. The xdelta3 rows run the command-line
tool on files in tmpfs (so they include its process start, a few ms).

Usage: python benches/rust_vs_python.py [--size BYTES] [--repeat N] [--check]
--check exits non-zero when a target of the foundation issue is missed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable

from oms_accel import DeltaEncoder, available_backends
from oms_accel.delta import SUPPORTED_BACKENDS
from oms_accel.samples import document, edit


def best(fn: Callable[[], object], repeat: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return min(times), result


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=8 << 20)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--check", action="store_true")
    args = ap.parse_args()

    old = document(args.size, seed=42)
    new = edit(old, 0.01, seed=7)
    mb = len(new) / 1e6
    rows: dict[str, tuple[float, float, int]] = {}

    for backend in (b for b in available_backends() if b in SUPPORTED_BACKENDS):
        enc = DeltaEncoder(backend)
        reps = args.repeat if backend != "python" else max(1, args.repeat // 2)
        t_enc, delta = best(lambda enc=enc: enc.encode(old, new), reps)
        assert isinstance(delta, bytes)
        t_dec, back = best(lambda enc=enc, delta=delta: enc.decode(old, delta), reps)
        assert back == new, f"{backend} decoded wrongly"
        rows[backend] = (mb / t_enc, mb / t_dec, len(delta))

    xdelta3 = shutil.which("xdelta3")
    if xdelta3:
        tmp = tempfile.mkdtemp(dir="/dev/shm" if os.path.isdir("/dev/shm") else None)
        try:
            o, n, d, r = (os.path.join(tmp, x) for x in ("old", "new", "delta", "out"))
            with open(o, "wb") as f:
                f.write(old)
            with open(n, "wb") as f:
                f.write(new)
            for label, level in (("xdelta3 -9", "-9"), ("xdelta3", None)):
                cmd = [
                    xdelta3,
                    "-e",
                    "-f",
                    "-S",
                    "none",
                    *([level] if level else []),
                    "-s",
                    o,
                    n,
                    d,
                ]
                t_enc, _ = best(lambda cmd=cmd: subprocess.run(cmd, check=True), args.repeat)
                t_dec, _ = best(
                    lambda: subprocess.run([xdelta3, "-d", "-f", "-s", o, d, r], check=True),
                    args.repeat,
                )
                with open(r, "rb") as f:
                    assert f.read() == new
                rows[label] = (mb / t_enc, mb / t_dec, os.path.getsize(d))
        finally:
            shutil.rmtree(tmp)

    ref = rows.get("xdelta3 -9")
    py = rows.get("python")
    print(f"VCDIFF deltas: {len(old) / 2**20:.1f} MiB document, 1% of bytes edited in runs, 4 inserts, 4 deletes")
    header = ("backend", "encode MB/s", "decode MB/s", "delta bytes", "size/xd3-9", "enc/python", "enc/xd3-9", "dec/xd3-9")
    print(f"{header[0]:<12} " + " ".join(f"{h:>11}" for h in header[1:]))
    for name, (e, d, size) in rows.items():
        size_ratio = f"{size / ref[2]:.3f}" if ref else "-"
        vs_py = f"{e / py[0]:.1f}x" if py else "-"
        vs_xe = f"{e / ref[0]:.2f}x" if ref else "-"
        vs_xd = f"{d / ref[1]:.2f}x" if ref else "-"
        cells = (f"{e:.1f}", f"{d:.1f}", str(size), size_ratio, vs_py, vs_xe, vs_xd)
        print(f"{name:<12} " + " ".join(f"{c:>11}" for c in cells))

    if not args.check:
        return 0
    failures = []
    wasm = rows.get("wasm")
    if wasm is None:
        failures.append("the wasm backend did not load")
    else:
        if py and wasm[0] < 50 * py[0]:
            failures.append(f"wasm encode is {wasm[0] / py[0]:.1f}x the python backend's (target 50x)")
        if wasm[1] < 200:
            failures.append(f"wasm decode is {wasm[1]:.0f} MB/s (target 200)")
        if ref and wasm[2] > 1.10 * ref[2]:
            failures.append(f"wasm delta is {wasm[2] / ref[2]:.3f}x xdelta3 -9's (target 1.10)")
    for f in failures:
        print("MISSED:", f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
