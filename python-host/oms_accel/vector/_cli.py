"""``oms-accel vector ...``: build an index from a file of vectors, search it,
describe it.

VECTORS and QUERIES are files of raw little-endian f32, row after row, or
``.npy`` arrays (with numpy). Results go to standard output (or ``-o FILE``,
written atomically), messages to standard error. Exit codes: 0 success; 1 a
limit was reached; 2 usage error or unusable input (missing file, wrong
dimension, NaN, not an index).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .. import _command, _progress
from .._files import require_file
from .._progress import progress_bar
from ..errors import AccelArgumentError
from ..limits import Limits
from . import SUPPORTED_BACKENDS, VectorIndex
from ._format import DTYPES, METRICS

#: Vectors per `add` call while building, so that a progress bar can move.
BUILD_CHUNK = 1 << 16


def add_parser(sub: Any) -> None:
    vec = sub.add_parser("vector", help="build, search and describe vector indexes")
    vsub = vec.add_subparsers(dest="vector_command", required=True, metavar="ACTION")

    build = vsub.add_parser("build", help="write an index of the vectors in a file")
    build.add_argument("vectors", metavar="VECTORS", help="raw little-endian f32 (row after row), or .npy")
    build.add_argument("-d", "--dim", type=int, help="the dimension (read from a .npy file)")
    build.add_argument("-m", "--metric", choices=METRICS, default="cosine")
    build.add_argument("--dtype", choices=DTYPES, default="f32", help="how vectors are stored (default f32)")
    build.add_argument("-o", "--output", required=True, metavar="INDEX", help="where to write; '-' for standard output")
    _progress.add_options(build)
    build.set_defaults(func=_build)

    search = vsub.add_parser("search", help="print each query's nearest vectors, one JSON line per query")
    search.add_argument("index", metavar="INDEX")
    search.add_argument("queries", metavar="QUERIES", help="raw little-endian f32 (row after row), or .npy")
    search.add_argument("-k", type=int, default=10, help="results per query (default 10)")
    search.add_argument("-o", "--output", default="-", metavar="PATH", help="where to write (default: standard output)")
    search.set_defaults(func=_search)

    info = vsub.add_parser("info", help="dimension, metric, storage and size of an index")
    info.add_argument("index", metavar="INDEX")
    info.set_defaults(func=_info, backend="python")

    for sp in (build, search):
        _command.add_common(sp, SUPPORTED_BACKENDS)
        sp.add_argument("--threads", type=int, default=None, help="wasm shards searched in parallel (default: one per core)")


def _rows(path: str, dim: int | None) -> tuple[Any, int]:
    """The vectors of a file: a numpy array (.npy) or the path itself, and the dimension."""
    require_file(path)
    if path.endswith(".npy"):
        try:
            import numpy as np
        except ImportError:
            raise AccelArgumentError(f"{path}: reading .npy files needs numpy") from None
        array = np.load(path, mmap_mode="r", allow_pickle=False)
        if array.ndim != 2:
            raise AccelArgumentError(f"{path}: expected a 2-D array of vectors, not {array.ndim}-D")
        if dim is not None and dim != array.shape[1]:
            raise AccelArgumentError(f"{path}: the vectors have dimension {array.shape[1]}, not {dim}")
        return array, int(array.shape[1])
    if dim is None:
        raise AccelArgumentError(f"{path}: a raw f32 file needs --dim")
    return path, dim


def _chunks(rows: Any, dim: int) -> Iterator[Any]:
    """`rows` (a path or an array) in pieces of BUILD_CHUNK vectors, as arrays or raw bytes."""
    if not isinstance(rows, str):
        for i in range(0, len(rows), BUILD_CHUNK):
            yield rows[i : i + BUILD_CHUNK]
        return
    size = Path(rows).stat().st_size
    if size % (4 * dim):
        raise AccelArgumentError(f"{rows} is {size} bytes, not whole vectors of {dim} f32 values")
    with open(rows, "rb") as f:
        while block := f.read(BUILD_CHUNK * 4 * dim):
            yield block


def _build(args: argparse.Namespace) -> int:
    rows, dim = _rows(args.vectors, args.dim)
    index = VectorIndex(
        dim, args.metric, args.dtype, args.backend, threads=args.threads, limits=Limits(timeout_s=args.timeout), host=args.host
    )
    total = len(rows) if not isinstance(rows, str) else Path(rows).stat().st_size // (4 * dim)
    row_bytes = 4 * dim
    with progress_bar(args.progress, total * row_bytes, "adding") as update:
        for chunk in _chunks(rows, dim):
            index.add(_as_vectors(chunk, dim))
            if update is not None:
                update(len(index) * row_bytes, total * row_bytes)
    with _command.binary_output(args.output) as out:
        index.save(out)
    print(f"{len(index)} vectors of dimension {dim} ({args.metric}, {args.dtype}) -> {args.output}", file=sys.stderr)
    return 0


def _as_vectors(chunk: Any, dim: int) -> Any:
    """A chunk as `VectorIndex.add` takes it: arrays as they are, raw bytes as floats."""
    if not isinstance(chunk, bytes):
        return chunk
    try:
        import numpy as np
    except ImportError:
        from ._python import floats

        values = floats(chunk)
        return [list(values[i : i + dim]) for i in range(0, len(values), dim)]
    return np.frombuffer(chunk, dtype="<f4").reshape(-1, dim)


def _search(args: argparse.Namespace) -> int:
    index = VectorIndex.load(args.index, args.backend, threads=args.threads, limits=Limits(timeout_s=args.timeout), host=args.host)
    queries, _ = _rows(args.queries, index.dim)
    results = index.search_batch(queries, args.k)
    lines = []
    for i, (ids, scores) in enumerate(results):
        lines.append(json.dumps({"query": i, "ids": [int(x) for x in ids], "scores": [float(f"{float(s):.9g}") for s in scores]}))
    _command.emit(args.output, "\n".join(lines) + ("\n" if lines else ""))
    return 0


def _info(args: argparse.Namespace) -> int:
    from . import _format as fmt

    path = require_file(args.index)
    with open(path, "rb") as f:
        data = f.read()  # (all of it: the checksum covers every record)
    dim, metric, dtype, count, _ = fmt.parse_file(data)
    size = len(data)
    print(json.dumps({"dim": dim, "metric": metric, "dtype": dtype, "count": count, "bytes": size}))
    return 0
