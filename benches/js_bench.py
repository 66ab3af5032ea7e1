"""The demo page's timings (the component in headless Chromium, through the
JS package) beside Python's for the same inputs: each section of the page
(delta encode + decode round trip, RFC 6902 diff, schema violations, pointer
lookup, similarity search) timed by the page itself (best of its runs), and
the same work through oms_accel on each backend (best of as many).

    .venv/bin/python benches/js_bench.py [--runs N]

Needs `make build` (the JS package, the demo's data, chromium).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from oms_accel import DeltaEncoder, JsonProcessor, VectorIndex

PACKAGE = Path(__file__).parents[1] / "js"
DATA = PACKAGE / "demo" / "data"


def page_times(runs: int) -> dict[str, float]:
    """Best time of each section over `runs` runs of the page, in ms."""
    server = subprocess.Popen(["node", str(PACKAGE / "demo" / "serve.mjs"), "0"], stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        url = server.stdout.readline().strip()
        steps: list[dict[str, Any]] = [{"snapshot": "0"}]
        for i in range(1, runs):
            steps += [{"click": "#run"}, {"snapshot": str(i)}]
        with tempfile.TemporaryDirectory() as d:
            (Path(d) / "steps.json").write_text(json.dumps(steps))
            subprocess.run(["node", str(PACKAGE / "test" / "browser.mjs"), url, f"{d}/steps.json", f"{d}/out.json"], check=True)
            out = json.loads((Path(d) / "out.json").read_text())
    finally:
        server.terminate()
    best: dict[str, float] = {}
    for snap in out["snapshots"].values():
        for section, text in snap["times"].items():
            if text:
                best[section] = min(best.get(section, float("inf")), float(text.split()[0]))
    return best


def best_ms(f: Callable[[], object], runs: int) -> float:
    f()
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        f()
        times.append(time.perf_counter() - t)
    return min(times) * 1e3


def python_times(backend: str, runs: int) -> dict[str, float]:
    v1, v2, schema = ((DATA / n).read_text() for n in ("v1.json", "v2.json", "schema.json"))
    old, new = v1.encode(), v2.encode()
    meta = json.loads((DATA / "labels.json").read_text())
    rows = np.frombuffer((DATA / "embeddings.f32").read_bytes(), dtype="<f4").reshape(-1, meta["dimension"])
    enc = DeltaEncoder(backend, method="xdelta3" if backend == "native" else "vcdiff")  # type: ignore[arg-type]
    p = JsonProcessor("wasm" if backend == "native" else backend)  # type: ignore[arg-type]
    index = VectorIndex(meta["dimension"], "cosine", backend=backend)  # type: ignore[arg-type]
    index.add(rows)
    return {
        "delta": best_ms(lambda: enc.decode(old, enc.encode(old, new)), runs),
        "diff": best_ms(lambda: p.diff(v1, v2), runs),
        "violations": best_ms(lambda: p.validate_schema(v2, schema), runs),
        "lookup": best_ms(lambda: p.parse_large_document(v2).get("/entities/0/label"), runs),
        "search": best_ms(lambda: index.search(rows[0], 5), runs),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    page = page_times(args.runs)
    backends = {b: python_times(b, args.runs) for b in ("native", "wasm", "python")}
    print(f"best of {args.runs}, ms; ratio = Python wasm time / page time (> 1: the page is faster)")
    print(f"{'section':<12}{'page':>10}" + "".join(f"{'py ' + b:>12}" for b in backends) + f"{'ratio':>8}")
    for section, t in page.items():
        cells = "".join(f"{backends[b][section]:>12.2f}" for b in backends)
        print(f"{section:<12}{t:>10.2f}{cells}{backends['wasm'][section] / t:>8.2f}")
    print("(delta: encode + decode; native json is the component on the Rust host; the page's times include drawing its result)")


if __name__ == "__main__":
    main()
