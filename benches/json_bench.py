"""JSON benchmark: each backend beside the peers a user would pick, in one run.

1. Validation of a ~5 MB document of realistic shape (oms_accel.samples) against
   its schema compiled once, from JSON text: Python's jsonschema and
   jsonschema-rs count their json.loads (or orjson's); and a 4 KB document,
   where fixed costs dominate.
2. One deep value from a 10 MB document, the whole call from Python:
   parse_large_document(text).get(pointer) against json.loads(text) + lookup
   and pysimdjson's parse + at_pointer; then the lookup alone in a parsed
   document.
3. Fixed costs: a tiny call, and parse + get of a 95-byte document.
4. Streaming a 200 MB NDJSON file with a schema: peak RSS of a fresh process.
5. Peak memory of parse, validate and canonicalize of a large document, and
   what is still held after it is dropped: a fresh process each, as a
   multiple of the document.

The wasm backend has a row per host; `guest native` is the component's own
code compiled natively on the same text (the sandbox's price).

Usage: python benches/json_bench.py [--repeat N] [--ndjson-mb N] [--check]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from typing import Any

from _targets import Targets, best, guest_native, with_hosts

import oms_accel.json
from oms_accel import JsonProcessor, backends
from oms_accel.samples import ONTOLOGY_SCHEMA, json_document

BACKENDS = with_hosts(backends.loaded(oms_accel.json.SUPPORTED_BACKENDS))


def is_wasm(backend: str) -> bool:
    return backend.startswith("wasm")


def bench_validation(repeat: int) -> dict[str, float]:
    text = json_document(5_000_000, seed=1)
    small = json_document(4_000, seed=4)
    rows: dict[str, float] = {}  # the 5 MB document
    smalls: dict[str, float] = {}  # the 4 KB one, per call
    count = 200
    for backend in BACKENDS:
        proc = JsonProcessor(backend)
        schema = proc.compile_schema(ONTOLOGY_SCHEMA)
        t, errors = best(lambda schema=schema: schema.validate(text), repeat if is_wasm(backend) else 1)
        assert errors == [], errors[:3]
        rows[f"oms-accel {backend}"] = t
        assert schema.validate(small) == []
        smalls[f"oms-accel {backend}"] = best(lambda schema=schema: [schema.validate(small) for _ in range(count)], repeat)[0] / count
    with tempfile.TemporaryDirectory() as d:
        paths = [os.path.join(d, name) for name in ("schema.json", "doc.json", "small.json")]
        for path, body in zip(paths, (json.dumps(ONTOLOGY_SCHEMA), text, small), strict=True):
            with open(path, "w") as f:
                f.write(body)
        native = guest_native("json-validate", *paths[:2], repeat)
        assert native["violations"] == 0
        rows["guest native"] = native["validate"]
        smalls["guest native"] = guest_native("json-validate", paths[0], paths[2], repeat * count)["validate"]
    import jsonschema

    validator = jsonschema.Draft202012Validator(ONTOLOGY_SCHEMA)
    t, errors = best(lambda: list(validator.iter_errors(json.loads(text))), 1)
    assert not errors
    rows["jsonschema"] = t
    try:
        import jsonschema_rs
        import orjson

        rs = jsonschema_rs.validator_for(ONTOLOGY_SCHEMA)
        t, errors = best(lambda: list(rs.iter_errors(json.loads(text))), repeat)
        assert not errors
        rows["jsonschema-rs"] = t
        rows["orjson+jsonschema-rs"] = best(lambda: list(rs.iter_errors(orjson.loads(text))), repeat)[0]
        smalls["jsonschema-rs"] = best(lambda: [list(rs.iter_errors(json.loads(small))) for _ in range(count)], repeat)[0] / count
        smalls["orjson+jsonschema-rs"] = best(lambda: [list(rs.iter_errors(orjson.loads(small))) for _ in range(count)], repeat)[0] / count
    except ImportError:
        pass
    print(f"\nValidate a {len(text) / 1e6:.1f} MB document (text in, violations out), schema compiled once")
    print(f"{'':<28} {'ms':>9} {'vs jsonschema':>14} {'vs jsonschema-rs':>17}")
    for name, t in rows.items():
        vs_py = rows["jsonschema"] / t
        vs_rs = f"{rows['jsonschema-rs'] / t:.2f}x" if "jsonschema-rs" in rows else "-"
        print(f"{name:<28} {t * 1e3:>9.1f} {vs_py:>13.1f}x {vs_rs:>17}")
    print(f"\nValidate a {len(small) / 1e3:.1f} KB document with a compiled schema, microseconds a call")
    print(f"{'':<28} {'us':>9} {'vs jsonschema-rs':>17}")
    for name, t in smalls.items():
        vs_rs = f"{smalls['jsonschema-rs'] / t:.2f}x" if "jsonschema-rs" in smalls else "-"
        print(f"{name:<28} {t * 1e6:>9.1f} {vs_rs:>17}")
    rows.update({f"{name} (4 KB)": t for name, t in smalls.items()})
    return rows


def bench_get(repeat: int) -> dict[str, float]:
    text = json_document(10_000_000, seed=2)
    n = json.loads(text)["entities"].__len__()
    pointer = f"/entities/{n - 1}/properties/0/name"
    expected = json.loads(text)["entities"][n - 1]["properties"][0]["name"]
    rows: dict[str, float] = {}
    parsed: dict[str, float] = {}  # a lookup in an already-parsed document
    count = 1000
    for backend in BACKENDS:
        proc = JsonProcessor(backend)
        t, got = best(lambda proc=proc: proc.parse_large_document(text).get(pointer), repeat)
        assert got == expected
        rows[f"oms-accel {backend}"] = t
        doc = proc.parse_large_document(text)
        parsed[f"oms-accel {backend}"] = best(lambda doc=doc: [doc.get(pointer) for _ in range(count)], repeat)[0] / count
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "doc.json")
        with open(path, "w") as f:
            f.write(text)
        native = guest_native("json-get", path, pointer, repeat)
        rows["guest native"] = native["parse"]
        parsed["guest native"] = native["get_parsed"]

    def loads_lookup() -> Any:
        return json.loads(text)["entities"][n - 1]["properties"][0]["name"]

    rows["json.loads+lookup"] = best(loads_lookup, repeat)[0]
    try:
        import simdjson

        parser = simdjson.Parser()
        data = text.encode()
        t, got = best(lambda: parser.parse(data).at_pointer(pointer), repeat)
        assert got == expected
        rows["pysimdjson parse+at_pointer"] = t
        sdoc = parser.parse(data)
        parsed["pysimdjson at_pointer"] = best(lambda: [sdoc.at_pointer(pointer) for _ in range(count)], repeat)[0] / count
    except ImportError:
        pass
    print(f"\nOne deep value from a {len(text) / 1e6:.1f} MB document, the whole call from Python (guest native: its parse)")
    print(f"{'':<28} {'ms':>9} {'vs json.loads':>14}")
    for name, t in rows.items():
        print(f"{name:<28} {t * 1e3:>9.2f} {rows['json.loads+lookup'] / t:>13.2f}x")
    print("\nThe same lookup in the document already parsed, microseconds")
    print(f"{'':<28} {'us':>9} {'vs pysimdjson':>14}")
    for name, t in parsed.items():
        vs = f"{parsed['pysimdjson at_pointer'] / t:.2f}x" if "pysimdjson at_pointer" in parsed else "-"
        print(f"{name:<28} {t * 1e6:>9.2f} {vs:>14}")
    rows.update({f"{name} (parsed)": t for name, t in parsed.items()})
    return rows


def bench_small(repeat: int) -> dict[str, float]:
    """Fixed costs: a tiny call (one lookup in a parsed document) and a whole
    parse-and-get of a 100-byte document, in microseconds from Python."""
    text = '{"id": "urn:oms:1", "type": "class", "labels": {"en": "Person"}, "rank": 3, "tags": ["a", "b"]}'
    rows: dict[str, tuple[float, float]] = {}
    count = 2000
    for backend in BACKENDS:
        proc = JsonProcessor(backend)
        doc = proc.parse_large_document(text)
        t_get = best(lambda doc=doc: [doc.get("/labels/en") for _ in range(count)], repeat)[0] / count
        t_all = best(lambda proc=proc: [proc.parse_large_document(text).get("/labels/en") for _ in range(count)], repeat)[0] / count
        rows[f"oms-accel {backend}"] = (t_get, t_all)
    t_loads = best(lambda: [json.loads(text)["labels"]["en"] for _ in range(count)], repeat)[0] / count
    rows["json.loads+lookup"] = (float("nan"), t_loads)
    print(f"\nFixed costs on a {len(text)}-byte document, microseconds a call from Python")
    print(f"{'':<28} {'get (parsed)':>13} {'parse+get':>10} {'vs json.loads':>14}")
    for name, (g, a) in rows.items():
        print(f"{name:<28} {g * 1e6:>13.2f} {a * 1e6:>10.2f} {t_loads / a:>13.2f}x")
    return {name: g for name, (g, _) in rows.items()}


NDJSON_CHILD = """
import sys
from oms_accel import JsonProcessor
from oms_accel.samples import ONTOLOGY_SCHEMA
proc = JsonProcessor(sys.argv[2])
entity = {"$ref": "#/$defs/entity", "$defs": ONTOLOGY_SCHEMA["$defs"]}
count = invalid = 0
for record in proc.iter_ndjson(sys.argv[1], schema=entity):
    count += 1
    invalid += not record.valid
# VmHWM is this process's own peak (ru_maxrss keeps the parent's peak across fork and exec).
hwm = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:"))
print(count, invalid, hwm * 1024)
"""


def bench_ndjson(megabytes: int) -> dict[str, float]:
    import random

    rng = random.Random(3)
    rows: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "records.ndjson")
        base = json.loads(json_document(20_000, seed=3))["entities"]
        with open(path, "w") as f:
            written = 0
            while written < megabytes * 1_000_000:
                line = json.dumps(rng.choice(base)) + "\n"
                f.write(line)
                written += len(line)
        print(f"\nStream a {written / 1e6:.0f} MB NDJSON file with a schema: peak RSS of a fresh process")
        for backend in BACKENDS:
            t0 = time.perf_counter()
            out = subprocess.run([sys.executable, "-c", NDJSON_CHILD, path, backend], check=True, capture_output=True, text=True)
            elapsed = time.perf_counter() - t0
            count, invalid, rss = (int(x) for x in out.stdout.split())
            assert invalid == 0
            rows[backend] = rss
            speed = written / 1e6 / elapsed
            print(f"oms-accel {backend:<10} {count:>9} records {elapsed:>7.1f} s {speed:>7.1f} MB/s  peak RSS {rss / 2**20:>6.1f} MiB")
    return rows


MEMORY_CHILD = """
import gc, sys
from oms_accel import JsonProcessor
from oms_accel.samples import ONTOLOGY_SCHEMA, json_document
def mem(key):
    with open('/proc/self/status') as f:
        return next(int(l.split()[1]) * 1024 for l in f if l.startswith(key))
op, backend, size = sys.argv[1], sys.argv[2], int(sys.argv[3])
text = json_document(size, seed=5)
proc = JsonProcessor(backend)
# (A compiled schema is a resource of the instance: only validate holds one.)
schema = proc.compile_schema(ONTOLOGY_SCHEMA) if op == 'validate' else None
proc.canonicalize('[]')
base = mem('VmRSS')
if op == 'parse':
    result = proc.parse_large_document(text)
elif op == 'validate':
    result = schema.validate(text)
else:
    result = proc.canonicalize(text)
peak = mem('VmHWM') - base
del result; gc.collect()
print(len(text.encode()), peak, mem('VmRSS') - base)
"""


def bench_memory(megabytes: int) -> dict[str, float]:
    """Peak RSS over the document's size, per backend and operation."""
    rows: dict[str, float] = {}
    print(f"\nPeak memory over a {megabytes} MiB document, a fresh process each (x the document; held: after it is dropped)")
    print(f"{'':<26}" + "".join(f"{op:>22}" for op in ("parse", "validate", "canonicalize")))
    for backend in BACKENDS:
        cells = []
        for op in ("parse", "validate", "canonicalize"):
            out = subprocess.run(
                [sys.executable, "-c", MEMORY_CHILD, op, backend, str(megabytes << 20)], check=True, capture_output=True, text=True
            )
            size, peak, held = (int(x) for x in out.stdout.split())
            rows[f"{backend} {op}"] = peak / size
            cells.append(f"{peak / size:>6.1f}x (held {held / size:.1f}x)")
        print(f"oms-accel {backend:<16}" + "".join(f"{c:>22}" for c in cells))
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--ndjson-mb", type=int, default=200)
    ap.add_argument("--memory-mb", type=int, default=20, help="the document of the memory table (0: skip it)")
    ap.add_argument("--check", action="store_true")
    args = ap.parse_args()
    val = bench_validation(args.repeat)
    get = bench_get(args.repeat)
    tiny = bench_small(args.repeat)
    nd = bench_ndjson(args.ndjson_mb)
    memory = bench_memory(args.memory_mb) if args.memory_mb else {}
    if not args.check:
        return 0
    target = Targets()

    w = val.get("oms-accel wasm/rust") or val.get("oms-accel wasm/wasmtime-py")
    if w:
        target(val["jsonschema"] / w >= 20, f"validation {val['jsonschema'] / w:.1f}x faster than jsonschema (target 20x)")
    rust = "oms-accel wasm/rust"
    if rust in val and "jsonschema-rs" in val:
        r = val[rust] / val["jsonschema-rs"]
        target(r <= 0.8, f"validating 5 MB on the rust host {r:.2f}x jsonschema-rs's time with json.loads (target at most 0.8x)")
        r = val[f"{rust} (4 KB)"] / val["jsonschema-rs (4 KB)"]
        target(r <= 1, f"validating 4 KB on the rust host {r:.2f}x jsonschema-rs's time with json.loads (target at most 1x)")
    if rust in get:
        r = get["json.loads+lookup"] / get[rust]
        target(r >= 8, f"get from 10 MB on the rust host {r:.2f}x faster than json.loads + lookup (target 8x)")
        if "pysimdjson at_pointer (parsed)" in get:
            r = get[f"{rust} (parsed)"] / get["pysimdjson at_pointer (parsed)"]
            target(r <= 1, f"a lookup in a parsed document on the rust host {r:.2f}x pysimdjson's at_pointer time (target at most 1x)")
    if rust in tiny:
        target(tiny[rust] <= 3e-6, f"a tiny call on the rust host {tiny[rust] * 1e6:.2f} us (target 3)")
    for backend, rss in nd.items():
        target(rss < 150 * 2**20, f"NDJSON peak RSS on {backend}: {rss / 2**20:.0f} MiB (target under 150)")
    for row, ratio in memory.items():
        if row.startswith("wasm/rust"):
            target(ratio <= 4, f"peak memory of {row}: {ratio:.1f}x the document (target at most 4x)")
    return target.exit_status()


if __name__ == "__main__":
    sys.exit(main())
