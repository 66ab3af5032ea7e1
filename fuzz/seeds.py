"""Writes the fuzz targets' seed corpora into fuzz/corpus/<target>/ (made at
set-up by `make fuzz`, never committed): deltas from our encoders and from
the xdelta3 tool (-S none and -S djw), zstd patch-from frames from ours and
from `zstd --patch-from`, JSON documents and schemas from the
JSON-Schema-Test-Suite that set-up fetched, RFC 6902 patches, and saved
vector indexes. Two-part inputs are joined as the targets split them: a
little-endian u16 length of the first part, then both parts."""

from __future__ import annotations

import itertools
import json
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from oms_accel import DeltaEncoder, JsonProcessor, VectorIndex
from oms_accel.samples import document, edit, json_document

ROOT = Path(__file__).parent
SUITE = ROOT.parent / "tests" / "data" / "JSON-Schema-Test-Suite" / "tests" / "draft2020-12"


def join(first: bytes, second: bytes) -> bytes:
    first = first[:65535]
    return struct.pack("<H", len(first)) + first + second


def xdelta3(old: bytes, new: bytes, secondary: str) -> bytes:
    with tempfile.TemporaryDirectory() as d:
        (Path(d) / "old").write_bytes(old)
        (Path(d) / "new").write_bytes(new)
        subprocess.run(["xdelta3", "-e", "-f", "-S", secondary, "-s", f"{d}/old", f"{d}/new", f"{d}/delta"], check=True)
        return (Path(d) / "delta").read_bytes()


def zstd_patch_from(old: bytes, new: bytes, checksum: bool) -> bytes:
    with tempfile.TemporaryDirectory() as d:
        (Path(d) / "old").write_bytes(old)
        (Path(d) / "new").write_bytes(new)
        flag = "--check" if checksum else "--no-check"
        subprocess.run(["zstd", "-q", "-f", flag, f"--patch-from={d}/old", f"{d}/new", "-o", f"{d}/delta"], check=True)
        return (Path(d) / "delta").read_bytes()


def main() -> None:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "corpus"
    seeds: dict[str, list[bytes]] = {
        t: []
        for t in (
            "vcdiff_decode",
            "vcdiff_roundtrip",
            "json_scan",
            "json_schema",
            "json_patch",
            "vector_index_load",
            "zstd_delta_decode",
            "xdelta3_decode",
        )
    }
    for size, seed in ((600, 1), (3000, 2), (20000, 3)):
        old = document(size, seed)
        new = edit(old, 0.05, seed + 10)
        deltas = [DeltaEncoder(b).encode(old, new) for b in ("wasm", "python")]
        tool = [xdelta3(old, new, "none"), xdelta3(old, new, "djw")]
        deltas += tool
        seeds["vcdiff_decode"] += [join(old, d) for d in deltas]
        seeds["xdelta3_decode"] += [join(old, d) for d in [*tool, DeltaEncoder("native", method="xdelta3").encode(old, new)]]
        frames = [zstd_patch_from(old, new, True), zstd_patch_from(old, new, False)]
        frames.append(DeltaEncoder("native", method="zstd").encode(old, new))
        seeds["zstd_delta_decode"] += [join(old, f) for f in frames]
        seeds["vcdiff_roundtrip"].append(join(old[:4000], new[:4000]))
    proc = JsonProcessor("wasm")
    files = sorted(SUITE.glob("*.json")) if SUITE.is_dir() else []
    for f in files:
        for group in json.loads(f.read_text()):
            schema = json.dumps(group["schema"]).encode()
            seeds["json_scan"].append(schema)
            for test in group["tests"][:2]:
                instance = json.dumps(test["data"]).encode()
                seeds["json_scan"].append(instance)
                seeds["json_schema"].append(join(schema, instance))
    docs = [json_document(400, seed=i) for i in range(5)]
    for a, b in itertools.pairwise(docs):
        seeds["json_scan"].append(a.encode())
        seeds["json_patch"].append(join(a.encode(), json.dumps(proc.diff(a, b)).encode()))
        seeds["json_patch"].append(join(a.encode(), b.encode()))
    rows = np.random.default_rng(1).standard_normal((20, 8)).astype(np.float32)
    for metric in ("cosine", "dot", "l2"):
        for dtype in ("f32", "f16", "i8"):
            index = VectorIndex(8, metric, dtype, backend="python")  # type: ignore[arg-type]
            index.add(rows, ids=[i * 7 for i in range(20)])
            seeds["vector_index_load"].append(index.to_bytes())
    for target, items in seeds.items():
        d = out / target
        d.mkdir(parents=True, exist_ok=True)
        for i, data in enumerate(items):
            (d / f"seed-{i:04d}").write_bytes(data)
    print(f"{out}: " + ", ".join(f"{t} {len(v)}" for t, v in seeds.items()))


if __name__ == "__main__":
    main()
