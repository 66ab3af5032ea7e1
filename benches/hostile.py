"""A hostile-input run: mutated deltas, zstd frames, JSON documents and
vector index files, and headers claiming huge sizes, thrown at every backend
and host in child processes. Counts what happened: a typed error, the right
output, a silent wrong output, an untyped exception, a crash, a hang, and
the peak memory of each child. A run with any of the bad four, or a child
over its memory bound, exits 1.

    .venv/bin/python benches/hostile.py [--cases N] [--seed S]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

#: Peak RSS a child may reach (its inputs are well under 1 MiB; the huge
#: claims announce 2 GB).
MEMORY_BOUND_MIB = 512
#: Seconds a child may take for its batch before it counts as hung.
CHILD_TIMEOUT_S = 300


def mutate(rng: random.Random, data: bytes, edits: int = 3) -> bytes:
    d = bytearray(data)
    for _ in range(rng.randint(1, edits)):
        k = rng.randrange(len(d) + 1)
        op = rng.randrange(4)
        if op == 0 and k < len(d):
            d[k] = rng.randrange(256)
        elif op == 1 and k < len(d):
            del d[k]
        elif op == 2:
            d.insert(k, rng.randrange(256))
        elif k < len(d):
            d[k] ^= 1 << rng.randrange(8)
    return bytes(d)


# --- the children ----------------------------------------------------------------------


def _classify(call: Any, expected: Any, counts: Counter[str]) -> None:
    from oms_accel import AccelError

    try:
        got = call()
    except AccelError:
        counts["typed error"] += 1
        return
    except FileNotFoundError:
        counts["typed error"] += 1
        return
    except Exception as e:  # what must never happen
        counts[f"UNTYPED {type(e).__name__}"] += 1
        return
    counts["right output" if expected is None or got == expected else "SILENT WRONG OUTPUT"] += 1


def child_deltas(seed: int, cases: int) -> Counter[str]:
    from oms_accel import DeltaEncoder, backends
    from oms_accel.samples import document, edit

    rng = random.Random(seed)
    old = document(40_000, seed=seed)
    new = edit(old, 0.03, seed=seed + 1)
    readers = [b for b in ("wasm/rust", "wasm/wasmtime-py", "python", "native") if b.split("/")[0] in backends.available_backends()]
    makers = [("python", "vcdiff"), ("wasm", "vcdiff"), ("native", "zstd"), ("native", "xdelta3")]
    deltas = [DeltaEncoder(b, method=m).encode(old, new) for b, m in makers if b in backends.available_backends()]  # type: ignore[arg-type]
    counts: Counter[str] = Counter()
    for _ in range(cases):
        bad = mutate(rng, rng.choice(deltas))
        for r in readers:
            # A mutation may leave a delta that still decodes: only the
            # right new version is right.
            _classify(lambda r=r, bad=bad: DeltaEncoder(r).decode(old, bad), new, counts)
    return counts


def child_frames(seed: int, cases: int) -> Counter[str]:
    from oms_accel import compress, decompress

    rng = random.Random(seed)
    data = json.dumps([{"id": i, "name": f"entity {i}"} for i in range(3000)]).encode()
    frame = compress(data)
    counts: Counter[str] = Counter()
    for _ in range(cases):
        bad = mutate(rng, frame)
        _classify(lambda bad=bad: decompress(bad), data, counts)
    return counts


def child_json(seed: int, cases: int) -> Counter[str]:
    from oms_accel import JsonProcessor, backends
    from oms_accel.samples import json_document

    rng = random.Random(seed)
    base = json_document(20_000, seed=seed).encode()
    names = [b for b in ("wasm/rust", "wasm/wasmtime-py", "python") if b.split("/")[0] in backends.available_backends()]
    procs = [JsonProcessor(b) for b in names]
    counts: Counter[str] = Counter()
    for _ in range(cases):
        bad = mutate(rng, base, 2)
        outcomes = []
        for p in procs:
            outcome: list[Any] = []

            def run(p: Any = p, outcome: list[Any] = outcome, bad: bytes = bad) -> None:
                try:
                    outcome.append(("ok", p.canonicalize(bad), [e.message for e in p.validate_schema(bad, {"type": "object"})]))
                except Exception as e:
                    outcome.append((type(e).__name__, getattr(e, "code", None), str(e)))
                    raise

            _classify(run, None, counts)
            outcomes.append(repr(outcome))
        if len(set(outcomes)) > 1:
            counts["BACKENDS DISAGREE"] += 1
    return counts


def child_indexes(seed: int, cases: int) -> Counter[str]:
    from oms_accel import VectorIndex, backends

    rng = random.Random(seed)
    names = [b for b in ("wasm/rust", "wasm/wasmtime-py", "python") if b.split("/")[0] in backends.available_backends()]
    index = VectorIndex(8, "dot", "i8", backend="python")
    index.add([[rng.uniform(-1, 1) for _ in range(8)] for _ in range(40)])
    counts: Counter[str] = Counter()
    with tempfile.TemporaryDirectory() as d:
        good = Path(d) / "good.idx"
        index.save(good)
        raw = good.read_bytes()
        query = [0.5] * 8
        want = [list(x) for x in index.search(query, 5)]
        for _ in range(cases):
            bad = mutate(rng, raw)
            path = Path(d) / "bad.idx"
            path.write_bytes(bad)
            for b in names:

                def load(b: str = b, path: Path = path) -> Any:
                    return [list(x) for x in VectorIndex.load(path, backend=b).search(query, 5)]

                # Any change to a byte must be refused; unchanged bytes load as they were.
                _classify(load, want if bad == raw else object(), counts)
    return counts


def child_claims(seed: int, cases: int) -> Counter[str]:
    """Headers that announce about 2 GB: memory must follow what is decoded."""
    from oms_accel import DeltaEncoder, decompress

    counts: Counter[str] = Counter()
    zstd_claim = bytes.fromhex("28b52ffd") + b"\xa4" + (2_000_000_000).to_bytes(4, "little") + bytes.fromhex("010000")
    vcdiff = DeltaEncoder("python").encode(b"", b"x" * 100)
    huge = b"oms-accel:len=2000000000"
    assert vcdiff[4] == 0  # one window: no application header; give it a length header claiming 2 GB
    claim = vcdiff[:4] + b"\x04" + bytes((len(huge),)) + huge + vcdiff[5:]
    window = b"\xd6\xc3\xc4\x00\x00" + b"\x00\x0a\xa0\x80\x80\x80\x80\x00" + b"\x00\x00\x00\x00"
    for _ in range(max(1, cases // 10)):
        _classify(lambda: decompress(zstd_claim), None, counts)
        for r in ("wasm/rust", "wasm/wasmtime-py", "python"):
            _classify(lambda r=r: DeltaEncoder(r).decode(b"", claim), None, counts)
            _classify(lambda r=r: DeltaEncoder(r).decode(b"", window), None, counts)
    return counts


CHILDREN = {"deltas": child_deltas, "frames": child_frames, "json": child_json, "indexes": child_indexes, "claims": child_claims}


# --- the parent ------------------------------------------------------------------------


def run_child(kind: str, seed: int, cases: int) -> dict[str, Any]:
    start = time.perf_counter()
    try:
        done = subprocess.run(
            [sys.executable, __file__, "--child", kind, "--seed", str(seed), "--cases", str(cases)],
            capture_output=True,
            text=True,
            timeout=CHILD_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return {"kind": kind, "counts": {"HANG": 1}, "peak_mib": 0, "seconds": CHILD_TIMEOUT_S}
    if done.returncode != 0:
        return {"kind": kind, "counts": {f"CRASH (exit {done.returncode})": 1}, "peak_mib": 0, "stderr": done.stderr[-2000:]}
    report: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    report["seconds"] = time.perf_counter() - start
    return report


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cases", type=int, default=1000, help="mutated inputs per kind and child (default 1000)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--child", choices=sorted(CHILDREN), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        counts = CHILDREN[args.child](args.seed, args.cases)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss >> 10
        print(json.dumps({"kind": args.child, "counts": dict(counts), "peak_mib": peak}))
        return 0
    bad_words = ("UNTYPED", "SILENT", "CRASH", "HANG", "DISAGREE")
    failed = False
    print(f"{'inputs':<9} {'calls':>7}  {'peak MiB':>8}  {'seconds':>7}  outcomes")
    for kind in CHILDREN:
        r = run_child(kind, args.seed, args.cases)
        counts = r["counts"]
        over = r["peak_mib"] > MEMORY_BOUND_MIB
        failed |= over or any(w in k for k in counts for w in bad_words)
        shown = ", ".join(f"{k}: {v}" for k, v in sorted(counts.items(), key=lambda kv: -kv[1]))
        flag = "  OVER THE MEMORY BOUND" if over else ""
        print(f"{kind:<9} {sum(counts.values()):>7}  {r['peak_mib']:>8}  {r.get('seconds', 0):>7.1f}  {shown}{flag}")
        if "stderr" in r:
            print(r["stderr"], file=sys.stderr)
    print(
        "FAILED: see the capitalized outcomes"
        if failed
        else "every outcome a typed error or the right output; no child over its memory bound"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONFAULTHANDLER", "1")
    sys.exit(main())
