"""Memory of a VectorIndex on each backend: 1M x 384 f32 by default.

Each backend runs in a process of its own, so that what one leaves behind
does not count against the next. The vectors are generated and added 100k at
a time (each part dropped once added), so the caller's own copy is at most
one part: what grows is the index. Printed per backend: the resident memory
the index holds once added ("in use", against the vectors' own bytes), the
peak during the adds (sampled every 5 ms), and what stays after ``del``.

Targets (issue 14): in use at most 1.3x the vectors' bytes plus 200 MB;
after ``del``, within 200 MB of before.

Usage: python benches/vector_memory.py [--rows N] [--dim D] [--backends native,wasm,python] [--check]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import subprocess
import sys
import threading
import time

from _targets import Targets, with_hosts

MIB = 1 << 20
PART = 100_000


def rss() -> int:
    """This process's resident memory, in bytes."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def measure(backend: str, rows: int, dim: int) -> dict[str, float]:
    """In this process: adds `rows` random vectors to a fresh index on
    `backend`; returns the resident bytes it holds, its peak and what stays."""
    import numpy as np

    from oms_accel import VectorIndex

    rng = np.random.default_rng(3)
    index = VectorIndex(dim, "cosine", backend=backend)
    gc.collect()
    before = rss()
    peak = before
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.wait(0.005):
            peak = max(peak, rss())

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    t0 = time.perf_counter()
    for start in range(0, rows, PART):
        part = rng.standard_normal((min(PART, rows - start), dim), dtype=np.float32)
        index.add(part)
        del part
    seconds = time.perf_counter() - t0
    gc.collect()
    in_use = rss()
    done.set()
    sampler.join()
    assert len(index) == rows
    del index
    gc.collect()
    return {
        "in_use": in_use - before,
        "peak": max(peak, in_use) - before,
        "after_del": rss() - before,
        "add_seconds": seconds,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--dim", type=int, default=384)
    ap.add_argument("--backends", default="native,wasm,python")
    ap.add_argument("--check", action="store_true")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(measure(args.child, args.rows, args.dim)))
        return 0

    import oms_accel.vector
    from oms_accel import backends

    loaded = backends.loaded(oms_accel.vector.SUPPORTED_BACKENDS)
    wanted = [b for b in args.backends.split(",") if b in loaded]
    vectors = args.rows * args.dim * 4
    print(f"VectorIndex memory: {args.rows} x {args.dim} f32 ({vectors / MIB:.0f} MiB of vectors), added {PART} at a time")
    print(f"{'backend':<20} {'in use MiB':>11} {'x vectors':>10} {'peak MiB':>9} {'after del':>10} {'add s':>7}")
    target = Targets()
    for backend in with_hosts(wanted):
        out = subprocess.run(
            [sys.executable, __file__, "--child", backend, "--rows", str(args.rows), "--dim", str(args.dim)],
            capture_output=True,
            text=True,
            check=False,  # a failed run is reported as a missed target
        )
        if out.returncode != 0:
            target(False, f"{backend}: the run failed: {out.stderr.strip().splitlines()[-1:]}")
            continue
        r = json.loads(out.stdout.strip().splitlines()[-1])
        print(
            f"{backend:<20} {r['in_use'] / MIB:>11.0f} {r['in_use'] / vectors:>9.2f}x {r['peak'] / MIB:>9.0f}"
            f" {r['after_del'] / MIB:>9.0f}M {r['add_seconds']:>7.1f}"
        )
        limit = 1.3 * vectors + 200e6
        target(r["in_use"] <= limit, f"{backend}: {r['in_use'] / MIB:.0f} MiB in use (target at most {limit / MIB:.0f})")
        target(r["after_del"] <= 200e6, f"{backend}: {r['after_del'] / MIB:.0f} MiB left after del (target at most 191)")
    return target.exit_status() if args.check else 0


if __name__ == "__main__":
    sys.exit(main())
