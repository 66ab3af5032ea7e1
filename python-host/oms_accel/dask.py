"""Corpus-scale jobs on Dask (``pip install 'oms-accel[dask]'``): bulk deltas
over version histories, bulk validation of NDJSON files against one schema,
and vector search sharded over workers.

Every function takes a ``distributed.Client`` (``client=``) or uses the
current one. What crosses to the workers is pickled settings and sources
(an encoder's settings, a schema's text, an index's file bytes), never a
handle into a component instance; each worker process builds its own
encoder or compiled schema once and reuses it for every task it runs.

Outputs are written atomically (a temporary file renamed into place), so a
worker killed mid-task leaves no half-written output: Dask runs the task
again elsewhere, and the job completes, or fails with an error naming the
inputs not done. An input that fails on its own (a corrupt file) is reported
in the job's summary and never stops the job.
"""

from __future__ import annotations

import contextlib
import glob as globbing
import heapq
import os
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar, cast

from ._files import PathLike, as_path, atomic_output
from .delta import DeltaEncoder
from .errors import AccelArgumentError, AccelError, BackendUnavailableError
from .json import JsonProcessor, Schema
from .limits import Limits
from .vector import VectorIndex

if TYPE_CHECKING:
    import dask.bag
    import distributed

T = TypeVar("T")

__all__ = [
    "JobSummary",
    "ShardedVectorIndex",
    "ValidationReport",
    "Violation",
    "decode_files",
    "encode_bag",
    "encode_chains",
    "encode_files",
    "validate_bag",
    "validate_files",
]

#: Input bytes a file task aims at (both files of each pair): about 0.1 s
#: of encoding, so that what every task costs besides its work (Dask's
#: round trip, 1.5 ms here; reading the inputs; writing each output) stays
#: small beside it. Tasks of 8 pairs of 400 kB, 8 ms of work each, ran one
#: worker at half the speed of one process. A job smaller than this many
#: bytes per worker thread is still split once per thread.
TASK_BYTES = 32 << 20
FILES_PER_TASK = 1


def require_distributed(who: str = "oms_accel.dask") -> Any:
    """The `distributed` module, or BackendUnavailableError saying what
    `who` needs and how to install it."""
    try:
        import distributed
    except ImportError:
        raise BackendUnavailableError(f"{who} needs dask and distributed: pip install 'oms-accel[dask]'") from None
    return distributed


def _client(client: distributed.Client | None) -> distributed.Client:
    """`client`, else the current one, with the warm-up plugin registered."""
    distributed = require_distributed()
    if client is None:
        try:
            client = distributed.get_client()
        except ValueError:
            raise AccelArgumentError("no Dask client: pass client=, or create a distributed.Client first") from None
    c: Any = client  # (distributed is partly typed)
    if not getattr(c, "_oms_accel_warmed", False):
        c.register_plugin(_WarmUp(), name="oms-accel-warm-up")  # each worker, now and when it (re)starts
        c._oms_accel_warmed = True
    return client


try:  # (the class is defined with or without distributed; _client needs it)
    from distributed import WorkerPlugin as _PluginBase
except ImportError:  # pragma: no cover
    _PluginBase = object  # type: ignore[misc, assignment]


class _WarmUp(_PluginBase):
    """A worker plugin: loads the component once when a worker starts (from
    the compiled-component cache, compiling and caching it if it is cold),
    so that no task pays for that."""

    idempotent = True

    def setup(self, worker: Any) -> None:
        from . import backends

        if backends.backend_report().get("wasm") is None:
            DeltaEncoder("wasm").encode(b"warm", b"up")

    def teardown(self, worker: Any) -> None:
        pass


# --- deltas ------------------------------------------------------------------------------


@dataclass
class JobSummary:
    """What a bulk delta job did."""

    #: Inputs done (outputs written).
    done: int = 0
    #: (input, why) of each input that failed on its own.
    failures: list[tuple[str, str]] = field(default_factory=list)
    #: Bytes read (the new versions for encoding, the deltas for decoding).
    bytes_in: int = 0
    #: Bytes written.
    bytes_out: int = 0
    seconds: float = 0.0

    @property
    def ratio(self) -> float:
        """bytes_out / bytes_in (a delta's share of its version, when encoding)."""
        return self.bytes_out / self.bytes_in if self.bytes_in else 0.0

    def add(self, other: JobSummary) -> None:
        self.done += other.done
        self.failures += other.failures
        self.bytes_in += other.bytes_in
        self.bytes_out += other.bytes_out


def _files_part(items: list[tuple[str, str, str]], op: Any) -> JobSummary:
    """`op(first, second)` over the contents of (first, second, out) path
    triples, each result written to `out` atomically; runs on a worker. An
    input that fails is reported by its second path (the new version when
    encoding, the delta when decoding), and the others go on."""
    out = JobSummary()
    buffers = (_Buffer(), _Buffer())
    for first, second, target in items:
        try:
            a = buffers[0].read(first)
            b = buffers[1].read(second)
            result = op(a, b)
            with atomic_output(target) as f:
                f.write(result)
        except (OSError, AccelError) as e:
            out.failures.append((second, str(e)))
            continue
        out.done += 1
        out.bytes_in += len(b)
        out.bytes_out += len(result)
    return out


class _Buffer:
    """Files read into one buffer, reused: Dask's nannies start workers with
    MALLOC_TRIM_THRESHOLD_=65536, under which each `f.read()` of a 400 kB
    input got fresh pages from the system and gave them back (0.3 ms a read
    in a worker, 0.1 in the client)."""

    def __init__(self) -> None:
        self.buf = bytearray()

    def read(self, path: str) -> memoryview:
        """The whole file, valid until the next read."""
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            if len(self.buf) < size:
                self.buf = bytearray(size)
            view = memoryview(self.buf)[:size]
            got = f.readinto(view)
            if got == size and not f.read(1):
                return view
            # The file changed size while it was read: read it whole again.
            f.seek(0)
            return memoryview(f.read())


def _encode_part(items: list[tuple[str, str, str]], encoder: DeltaEncoder) -> JobSummary:
    """Encodes (old, new, out) path triples."""
    return _files_part(items, encoder.encode)


def _decode_part(items: list[tuple[str, str, str]], encoder: DeltaEncoder) -> JobSummary:
    """Decodes (old, delta, out) path triples."""
    return _files_part(items, encoder.decode)


def split_by_bytes(items: list[T], sizes: list[int], threads: int) -> list[list[T]]:
    """`items` cut into consecutive tasks of about `TASK_BYTES` of input
    (`sizes`) each, and into at least `threads` tasks where there are that
    many items, so that every worker thread has one."""
    if not items:
        return []
    if sum(sizes) <= 0:  # (sizes unknown: count items instead)
        sizes = [1] * len(items)
    total = sum(sizes)
    tasks = min(len(items), max(-(-total // TASK_BYTES), threads, 1))
    parts: list[list[T]] = [[]]
    done = 0
    for item, size in zip(items, sizes, strict=True):
        # A new task where the input so far reaches the next task's share.
        if parts[-1] and len(parts) < tasks and done * tasks >= len(parts) * total:
            parts.append([])
        parts[-1].append(item)
        done += size
    return parts


def _input_bytes(*paths: str) -> int:
    """The inputs' sizes where this process sees them (0 where it does not:
    a worker's filesystem need not be the client's)."""
    total = 0
    for p in paths:
        with contextlib.suppress(OSError):
            total += os.path.getsize(p)
    return total


def _gather(c: Any, futures: list[Any], progress: bool) -> list[Any]:
    """The futures' results; with `progress`, Dask's progress bar on stderr
    (it writes to stdout, which is for results) until they are done."""
    if progress:
        import distributed

        bar: Any = distributed.progress  # (partly typed)
        with contextlib.redirect_stdout(sys.stderr):
            bar(futures, notebook=False)
    return list(c.gather(futures))


def _run_files(
    client: distributed.Client | None, func: Any, items: list[tuple[str, str, str]], encoder: DeltaEncoder, progress: bool = False
) -> JobSummary:
    """`func` over `items` in tasks (`split_by_bytes`); the summed summary.
    A task lost with its worker more often than Dask allows fails the job
    naming the outputs not written."""
    c: Any = _client(client)  # (distributed is partly typed)
    start = time.perf_counter()
    parts = split_by_bytes(items, [_input_bytes(a, b) for a, b, _ in items], sum(c.nthreads().values()))
    futures = c.map(func, parts, encoder=encoder, pure=False)
    summary = JobSummary()
    try:
        for result in _gather(c, futures, progress):
            summary.add(result)
    except Exception as e:
        missing = [t for _, _, t in items if not os.path.exists(t)]
        raise AccelError(f"the job failed ({type(e).__name__}: {e}); not done: {', '.join(missing) or 'none'}", "io") from e
    finally:
        _remove_leftovers(t for _, _, t in items)
    summary.seconds = time.perf_counter() - start
    return summary


def _remove_leftovers(targets: Iterable[str]) -> None:
    """The temporary files of writes that a killed worker never finished
    (`atomic_output` names them ``.<name>.<random>.part`` beside `<name>`).
    One listing per directory: a glob per target listed the directory once
    per output, 13 ms of a 64-file job."""
    by_dir: dict[str, set[str]] = {}
    for t in targets:
        by_dir.setdefault(os.path.dirname(t) or ".", set()).add(os.path.basename(t))
    for directory, names in by_dir.items():
        try:
            entries = [e.name for e in os.scandir(directory)]
        except OSError:
            continue
        for entry in entries:
            if entry.startswith(".") and entry.endswith(".part") and entry[1:].rsplit(".", 2)[0] in names:
                with contextlib.suppress(OSError):
                    os.remove(os.path.join(directory, entry))


def _target(new: str, suffix: str, out_dir: PathLike | None) -> str:
    if out_dir is None:
        return new + suffix
    return os.path.join(as_path(out_dir), os.path.basename(new) + suffix)


def encode_files(
    pairs: Iterable[tuple[PathLike, PathLike]],
    *,
    client: distributed.Client | None = None,
    encoder: DeltaEncoder | None = None,
    suffix: str = ".delta",
    out_dir: PathLike | None = None,
    progress: bool = False,
) -> JobSummary:
    """Encodes each (old, new) pair of files; the delta is written next to
    the new version as ``new + suffix`` (or into `out_dir`). `encoder`
    (default: ``DeltaEncoder()``) gives the backend, method and level;
    `progress` shows Dask's progress bar on stderr."""
    enc = encoder or DeltaEncoder()
    items = [(as_path(o), as_path(n), _target(as_path(n), suffix, out_dir)) for o, n in pairs]
    return _run_files(client, _encode_part, items, enc, progress)


def encode_chains(chains: Iterable[Sequence[PathLike]], **kwargs: Any) -> JobSummary:
    """`encode_files` over version chains: each version against the one
    before it (``[v1, v2, v3]`` gives v2's delta from v1 and v3's from v2)."""
    pairs = [(chain[i - 1], chain[i]) for chain in chains for i in range(1, len(chain))]
    return encode_files(pairs, **kwargs)


def decode_files(
    triples: Iterable[tuple[PathLike, PathLike, PathLike]],
    *,
    client: distributed.Client | None = None,
    encoder: DeltaEncoder | None = None,
    progress: bool = False,
) -> JobSummary:
    """Decodes each (old, delta, out) triple of files, writing `out` atomically."""
    enc = encoder or DeltaEncoder()
    items = [(as_path(o), as_path(d), as_path(t)) for o, d, t in triples]
    return _run_files(client, _decode_part, items, enc, progress)


def encode_bag(pairs: dask.bag.Bag, encoder: DeltaEncoder | None = None) -> dask.bag.Bag:
    """A bag of (old, new) bytes pairs as a bag of deltas (lazy: compute it)."""
    enc = encoder or DeltaEncoder()
    bag: Any = pairs  # (dask is partly typed)
    return cast("dask.bag.Bag", bag.map(lambda p: enc.encode(p[0], p[1])))


# --- validation ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Violation:
    """One way a record fails the schema."""

    #: The file (or the bag's record number, as a string) and 1-based line.
    source: str
    line: int
    instance_path: str
    schema_path: str
    message: str


@dataclass
class ValidationReport:
    """What a bulk validation found."""

    records: int = 0
    invalid: int = 0
    violations: list[Violation] = field(default_factory=list)
    #: (source, line, why) of each record that is not JSON.
    bad_records: list[tuple[str, int, str]] = field(default_factory=list)
    #: (file, why) of each file that could not be read.
    failures: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0

    def add(self, other: ValidationReport) -> None:
        self.records += other.records
        self.invalid += other.invalid
        self.violations += other.violations
        self.bad_records += other.bad_records
        self.failures += other.failures


def _validate_part(paths: list[str], schema: Schema) -> ValidationReport:
    """Validates every record of NDJSON files; runs on a worker."""
    report = ValidationReport()
    proc = schema._proc
    for path in paths:
        try:
            for r in proc.iter_ndjson(path, schema):
                report.records += 1
                if r.error is not None:
                    report.bad_records.append((path, r.line, r.error))
                elif not r.valid:
                    report.invalid += 1
                    report.violations += [Violation(path, r.line, e.instance_path, e.schema_path, e.message) for e in r.errors]
        except (OSError, AccelError) as e:
            report.failures.append((path, str(e)))
    return report


def validate_files(
    paths: str | Iterable[PathLike],
    schema: Any,
    *,
    client: distributed.Client | None = None,
    processor: JsonProcessor | None = None,
    progress: bool = False,
) -> ValidationReport:
    """Validates every record of NDJSON / JSON Lines files (a glob pattern,
    or paths) against `schema` (a Schema, or a JSON value or text, compiled
    once per worker). Violations, records that are not JSON, and files that
    cannot be read are reported; none stops the job."""
    c: Any = _client(client)
    start = time.perf_counter()
    files = sorted(globbing.glob(paths)) if isinstance(paths, str) else [as_path(p) for p in paths]
    compiled = schema if isinstance(schema, Schema) else (processor or JsonProcessor()).compile_schema(schema)
    parts = [files[i : i + FILES_PER_TASK] for i in range(0, len(files), FILES_PER_TASK)]
    report = ValidationReport()
    for result in _gather(c, c.map(_validate_part, parts, schema=compiled, pure=False), progress):
        report.add(result)
    report.seconds = time.perf_counter() - start
    return report


def validate_bag(documents: dask.bag.Bag, schema: Any, processor: JsonProcessor | None = None) -> dask.bag.Bag:
    """A bag of documents (JSON text or values) as a bag of violation
    records, ``{"record", "instance_path", "schema_path", "message"}``
    (``record``: the document's place in the bag), plus ``{"record",
    "error"}`` for a document that is not JSON. Lazy: compute it, or turn it
    into a dataframe with ``.to_dataframe()``."""
    compiled = schema if isinstance(schema, Schema) else (processor or JsonProcessor()).compile_schema(schema)

    def check(part: list[Any], first: int) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for i, doc in enumerate(part, first):
            try:
                found = compiled.validate(doc)
            except AccelError as e:
                out.append({"record": i, "error": str(e)})
                continue
            out += ({"record": i, "instance_path": v.instance_path, "schema_path": v.schema_path, "message": v.message} for v in found)
        return out

    import dask.bag
    from dask.delayed import delayed

    # Each partition is numbered from the lengths of those before it, in the
    # same graph: the documents are read once, when the result is computed.
    parts = [delayed(list)(p) for p in cast(Any, documents).to_delayed()]
    firsts = [0]
    for p in parts[:-1]:
        firsts.append(delayed(_plus_len)(firsts[-1], p))
    return cast("dask.bag.Bag", cast(Any, dask.bag).from_delayed([delayed(check)(p, f) for p, f in zip(parts, firsts, strict=True)]))


def _plus_len(n: int, part: list[Any]) -> int:
    return n + len(part)


# --- sharded vector search ----------------------------------------------------------------


class _Shard:
    """One shard of a ShardedVectorIndex, held by a worker (a Dask actor)."""

    def __init__(
        self, dim: int, metric: str, dtype: str, backend: str | None, threads: int | None, limits: Limits, data: bytes | None
    ) -> None:
        if data is None:
            self.index = VectorIndex(dim, metric, dtype, backend, threads=threads, limits=limits)  # type: ignore[arg-type]
        else:
            self.index = VectorIndex.from_bytes(data, backend, threads=threads, limits=limits)

    def add(self, vectors: Any, ids: list[int]) -> int:
        return self.index.add(vectors, ids)

    def search_batch(self, queries: Any, k: int) -> list[tuple[list[int], list[float]]]:
        return [(list(map(int, ids)), [float(s) for s in scores]) for ids, scores in self.index.search_batch(queries, k)]

    def size(self) -> int:
        return len(self.index)

    def save(self, path: str) -> None:
        self.index.save(path)

    def to_bytes(self) -> bytes:
        return self.index.to_bytes()


class ShardedVectorIndex:
    """A VectorIndex split into shards held on Dask workers: `add` spreads
    the vectors over the shards, `search` and `search_batch` ask every shard
    for its k best and merge them exactly (ties to the smaller id), so the
    answers are those of one local VectorIndex holding every vector.

    Args:
        dim, metric, dtype, backend, threads, limits: as for `VectorIndex`,
            per shard.
        shards: how many (default: one per worker), placed on the workers
            in turn.
    """

    def __init__(
        self,
        dim: int,
        metric: str = "cosine",
        dtype: str = "f32",
        backend: str | None = None,
        *,
        client: distributed.Client | None = None,
        shards: int | None = None,
        threads: int | None = None,
        limits: Limits | None = None,
        _data: Sequence[bytes] | None = None,
    ) -> None:
        VectorIndex(dim, metric, dtype, backend)  # type: ignore[arg-type]  # the arguments' checks, here
        self.client = _client(client)
        self.dim, self.metric, self.dtype, self.backend = dim, metric, dtype, backend
        self.limits = limits or Limits()
        workers = sorted(self.client.scheduler_info()["workers"])
        if not workers:
            raise AccelArgumentError("the Dask cluster has no workers")
        n = len(_data) if _data is not None else (shards or len(workers))
        if n < 1:
            raise AccelArgumentError(f"shards must be at least 1, not {n}")
        futures = [
            self.client.submit(
                _Shard,
                dim,
                metric,
                dtype,
                backend,
                threads,
                self.limits,
                None if _data is None else _data[i],
                workers=[workers[i % len(workers)]],
                actor=True,
            )
            for i in range(n)
        ]
        #: The shards' actors (their calls return futures).
        self._shards: list[Any] = [f.result() for f in futures]
        self._next_id = sum(s.size().result() for s in self._shards) if _data is not None else 0
        self._turn = 0

    def __len__(self) -> int:
        return int(sum(s.size().result() for s in self._shards))

    @property
    def shards(self) -> int:
        return len(self._shards)

    def add(self, vectors: Any, ids: Sequence[int] | None = None) -> int:
        """Adds `vectors` (rows of `dim`) under `ids` (default: the next
        numbers), spread over the shards in equal runs."""
        import numpy as np

        rows = np.asarray(vectors, dtype=np.float32).reshape(-1, self.dim)
        n = len(rows)
        keys = list(range(self._next_id, self._next_id + n)) if ids is None else [int(i) for i in ids]
        if len(keys) != n:
            raise AccelArgumentError(f"{len(keys)} ids for {n} vectors")
        per = -(-n // len(self._shards)) if n else 0
        calls = []
        for j in range(len(self._shards)):
            lo, hi = j * per, min(n, (j + 1) * per)
            if lo < hi:
                shard = self._shards[(self._turn + j) % len(self._shards)]
                calls.append(shard.add(rows[lo:hi], keys[lo:hi]))
        added = sum(c.result() for c in calls)
        self._turn = (self._turn + 1) % len(self._shards)
        if ids is None:
            self._next_id += n
        else:
            self._next_id = max(self._next_id, max(keys, default=-1) + 1)
        return int(added)

    def search(self, query: Any, k: int = 10) -> tuple[list[int], list[float]]:
        """The `k` best (ids, scores) for `query`, merged from every shard."""
        import numpy as np

        return self.search_batch(np.asarray(query, dtype=np.float32).reshape(1, self.dim), k)[0]

    def search_batch(self, queries: Any, k: int = 10) -> list[tuple[list[int], list[float]]]:
        """`search` for each row of `queries`, every shard asked at once."""
        import numpy as np

        q = np.asarray(queries, dtype=np.float32).reshape(-1, self.dim)
        answers = [c.result() for c in [s.search_batch(q, k) for s in self._shards]]
        higher_first = self.metric != "l2"
        merged = []
        for i in range(len(q)):
            hits = [(s, h) for per_shard in answers for h, s in zip(*per_shard[i], strict=True)]
            key = (lambda x: (-x[0], x[1])) if higher_first else (lambda x: (x[0], x[1]))
            best = heapq.nsmallest(k, hits, key=key)
            merged.append(([h for _, h in best], [s for s, _ in best]))
        return merged

    def save(self, directory: PathLike) -> None:
        """Each shard writes ``shard-N.idx`` in `directory` (a path every worker can reach)."""
        d = as_path(directory)
        os.makedirs(d, exist_ok=True)
        for c in [s.save(os.path.join(d, f"shard-{i}.idx")) for i, s in enumerate(self._shards)]:
            c.result()

    @classmethod
    def load(
        cls,
        directory: PathLike,
        backend: str | None = None,
        *,
        client: distributed.Client | None = None,
        threads: int | None = None,
        limits: Limits | None = None,
    ) -> ShardedVectorIndex:
        """The index `save` wrote to `directory`, one shard per file."""
        d = as_path(directory)
        files = sorted(globbing.glob(os.path.join(globbing.escape(d), "shard-*.idx")), key=lambda p: int(p.rsplit("-", 1)[1].split(".")[0]))
        if not files:
            raise AccelArgumentError(f"no shard-N.idx files in {d}")
        data = []
        for f in files:
            with open(f, "rb") as fh:
                data.append(fh.read())
        from .vector import _format

        dim, metric, dtype, _, _ = _format.parse_file(data[0])
        return cls(dim, metric, dtype, backend, client=client, threads=threads, limits=limits, _data=data)
