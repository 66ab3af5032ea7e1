"""oms_accel.dask's jobs on a LocalCluster of 1 and 2 worker processes,
beside the same job in one process: bulk VCDIFF encoding of version chains,
bulk NDJSON validation, and a sharded batch search; Dask's overhead per
task; and a projection, on paper, of each job's throughput on N machines
from the measured per-worker rate and per-task overhead.

    .venv/bin/python benches/dask_bench.py [--check]

--check exits 1 unless every job on 2 workers runs at least 1.6x its
1-worker throughput (the target for these 2-core machines).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import distributed
import numpy as np

from oms_accel import DeltaEncoder, JsonProcessor, VectorIndex
from oms_accel import dask as od
from oms_accel._files import atomic_output
from oms_accel.samples import ONTOLOGY_SCHEMA, history, json_document

CHAINS, VERSIONS, DOC_BYTES = 16, 5, 400_000
FILES, RECORDS = 16, 1500
ROWS, DIM, QUERIES = 200_000, 128, 512
NOOP_TASKS = 400


def corpus(d: Path) -> tuple[list[list[Path]], list[Path]]:
    chains = []
    for c in range(CHAINS):
        paths = []
        for v, doc in enumerate(history(DOC_BYTES, VERSIONS, seed=c)):
            p = d / f"doc{c}.v{v}.json"
            p.write_bytes(doc)
            paths.append(p)
        chains.append(paths)
    files = []
    for f in range(FILES):
        p = d / f"part{f}.ndjson"
        p.write_text("\n".join(json_document(600, seed=f * RECORDS + i).replace("\n", "") for i in range(RECORDS)) + "\n")
        files.append(p)
    return chains, files


def timed(f: Callable[[], Any]) -> float:
    t = time.perf_counter()
    f()
    return time.perf_counter() - t


def best(f: Callable[[], Any], repeat: int = 2) -> float:
    return min(timed(f) for _ in range(repeat))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    enc = DeltaEncoder("wasm")
    proc = JsonProcessor("wasm")
    schema = proc.compile_schema(ONTOLOGY_SCHEMA)
    rng = np.random.default_rng(1)
    rows = rng.standard_normal((ROWS, DIM)).astype(np.float32)
    queries = rng.standard_normal((QUERIES, DIM)).astype(np.float32)
    with tempfile.TemporaryDirectory() as tmp:
        chains, files = corpus(Path(tmp))
        pairs = [(c[i - 1], c[i]) for c in chains for i in range(1, len(c))]
        new_bytes = sum(os.path.getsize(n) for _, n in pairs)
        records = FILES * RECORDS

        def local_encode() -> None:
            # The job's work, as one process would do it: read, encode and
            # write each delta atomically (the workers write theirs too;
            # without the writes this row was 1.4x faster than the job).
            for o, n in pairs:
                delta = enc.encode(o.read_bytes(), n.read_bytes())
                with atomic_output(os.path.join(tmp, n.name + ".delta")) as f:
                    f.write(delta)

        def local_validate() -> None:
            for f in files:
                for _ in proc.iter_ndjson(f, schema):
                    pass

        local_index = VectorIndex(DIM, "cosine", backend="native", threads=1)
        local_index.add(rows)
        work = {"encode": (new_bytes / 1e6, "MB/s"), "validate": (records / 1e3, "k rec/s"), "search": (QUERIES, "q/s")}
        rates: dict[str, dict[str, float]] = {job: {} for job in work}
        rates["encode"]["1 process"] = work["encode"][0] / best(local_encode)
        rates["validate"]["1 process"] = work["validate"][0] / best(local_validate)
        rates["search"]["1 process"] = QUERIES / best(lambda: local_index.search_batch(queries, 10))
        overhead = 0.0
        for n in (1, 2):
            with (
                distributed.LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None) as cluster,
                distributed.Client(cluster) as client,
            ):
                rates["encode"][f"{n} workers"] = work["encode"][0] / best(
                    lambda client=client: od.encode_files(pairs, client=client, encoder=enc, out_dir=tmp)
                )
                rates["validate"][f"{n} workers"] = work["validate"][0] / best(
                    lambda client=client: od.validate_files(files, schema, client=client)
                )
                sharded = od.ShardedVectorIndex(DIM, "cosine", backend="native", client=client, threads=1)
                sharded.add(rows)
                rates["search"][f"{n} workers"] = QUERIES / best(lambda sharded=sharded: sharded.search_batch(queries, 10))
                del sharded
                if n == 2:
                    t = best(lambda client=client: client.gather(client.map(lambda x: x, range(NOOP_TASKS), pure=False)))
                    overhead = t / NOOP_TASKS
    print(f"{CHAINS} chains x {VERSIONS} versions of {DOC_BYTES // 1000} kB (VCDIFF, wasm); {FILES} NDJSON files x {RECORDS} records;")
    print(f"{QUERIES} queries, top-10 cosine, over {ROWS} x {DIM} f32 (native, one thread per worker)")
    cols = ["1 process", "1 workers", "2 workers"]
    print(f"{'job':<10}{'unit':>9}" + "".join(f"{c:>12}" for c in cols) + f"{'2w/1w':>8}")
    failed = []
    for job, per in rates.items():
        scale = per["2 workers"] / per["1 workers"]
        print(f"{job:<10}{work[job][1]:>9}" + "".join(f"{per[c]:>12.1f}" for c in cols) + f"{scale:>7.2f}x")
        if scale < 1.6:
            failed.append(f"{job} scales {scale:.2f}x on 2 workers (target 1.6x)")
    print(f"Dask overhead per task: {overhead * 1e3:.2f} ms (a round trip of {NOOP_TASKS} no-op tasks on 2 workers)")
    # On paper: N machines of 2 cores, each worker at the measured 1-worker
    # rate times the measured 2-worker efficiency; the scheduler dispatches
    # at most 1/overhead tasks a second (one scheduler, whatever N).
    print("projection, N machines of 2 workers (rate capped by the scheduler's dispatch rate):")
    # At scale a task holds TASK_BYTES of input, half of it new versions.
    per_task = {"encode": od.TASK_BYTES / 2 / 1e6, "validate": work["validate"][0] / FILES}
    print(f"{'job':<10}" + "".join(f"{'N=' + str(n):>12}" for n in (1, 8, 64, 512)))
    for job in ("encode", "validate"):
        eff = rates[job]["2 workers"] / (2 * rates[job]["1 workers"])
        cap = per_task[job] / overhead if overhead else float("inf")
        cells = [min(2 * n * rates[job]["1 workers"] * eff, cap) for n in (1, 8, 64, 512)]
        print(f"{job:<10}" + "".join(f"{c:>12.0f}" for c in cells) + f"  {work[job][1]}")
    print(json.dumps({"check": "failed" if failed else "ok", "failed": failed}))
    if args.check and failed:
        sys.exit(1)


if __name__ == "__main__":
    main()
