"""``oms-accel tour``: a short demonstration on generated data. A document
history is delta-encoded version by version on every backend that offers
deltas, decoded back, checked, and reported with sizes and speeds; then
embeddings are searched on every backend, which must agree."""

from __future__ import annotations

import itertools
import sys
import time
from typing import TextIO

from . import __version__, backend_report, backends
from .delta import SUPPORTED_BACKENDS, DeltaEncoder
from .samples import history
from .vector import SUPPORTED_BACKENDS as VECTOR_BACKENDS
from .vector import VectorIndex


def _mb_s(nbytes: int, seconds: float) -> str:
    return f"{nbytes / seconds / 1e6:8.1f}" if seconds > 0 else "     inf"


def run(size: int = 4 << 20, versions: int = 5, out: TextIO = sys.stdout) -> int:
    print(f"oms-accel {__version__} tour", file=out)
    for name, why in backend_report().items():
        print(f"  backend {name:<7} {'loads' if why is None else 'unavailable: ' + why}", file=out)
    docs = history(size, versions)
    print(f"\nA history of {versions} versions of a {size / 2**20:.1f} MiB JSON document (0.5% edited per version).", file=out)
    print(f"{'backend':<8} {'versions':>8} {'raw MiB':>8} {'delta KiB':>10} {'ratio':>7} {'enc MB/s':>9} {'dec MB/s':>9}", file=out)
    for backend in backends.loaded(SUPPORTED_BACKENDS):
        enc = DeltaEncoder(backend)
        raw = delta_total = 0
        t_enc = t_dec = 0.0
        for old, new in itertools.pairwise(docs):
            t0 = time.perf_counter()
            delta = enc.encode(old, new)
            t1 = time.perf_counter()
            back = enc.decode(old, delta)
            t2 = time.perf_counter()
            if back != new:
                print(f"{backend}: decoded version differs from the original", file=out)
                return 1
            raw += len(new)
            delta_total += len(delta)
            t_enc += t1 - t0
            t_dec += t2 - t1
        print(
            f"{backend:<8} {versions - 1:>8} {raw / 2**20:>8.1f} {delta_total / 1024:>10.1f} {raw / delta_total:>6.0f}x "
            f"{_mb_s(raw, t_enc):>9} {_mb_s(raw, t_dec):>9}",
            file=out,
        )
    print("\nEvery delta decoded back to its version, byte for byte.", file=out)
    return _vectors(out)


def _vectors(out: TextIO, n: int = 20_000, dim: int = 128, queries: int = 8) -> int:
    import random

    rng = random.Random(1)
    rows = [[rng.gauss(0.0, 1.0) for _ in range(dim)] for _ in range(n + queries)]
    print(f"\n{n} embeddings of {dim} dimensions, top-10 cosine for {queries} queries.", file=out)
    print(f"{'backend':<8} {'add s':>8} {'ms/query':>9}", file=out)
    answers = {}
    for backend in backends.loaded(VECTOR_BACKENDS):
        t0 = time.perf_counter()
        index = VectorIndex(dim, "cosine", backend=backend)
        index.add(rows[:n])
        t1 = time.perf_counter()
        hits = index.search_batch(rows[n:], 10)
        t2 = time.perf_counter()
        answers[backend] = [list(h[0]) for h in hits]
        print(f"{backend:<8} {t1 - t0:>8.2f} {(t2 - t1) / queries * 1e3:>9.2f}", file=out)
    if len({str(a) for a in answers.values()}) > 1:
        print("the backends found different neighbours", file=out)
        return 1
    print("Every backend found the same neighbours.", file=out)
    return 0
