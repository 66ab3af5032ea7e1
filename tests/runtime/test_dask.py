"""oms_accel.dask on a LocalCluster of 2 worker processes: each job's results
equal the single-process API's exactly; bad inputs are reported, never
fatal; a worker killed mid-job leaves nothing half-written and the job
completes; a ShardedVectorIndex answers as one local index."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from oms_accel import DeltaEncoder, JsonProcessor, VectorIndex
from oms_accel.samples import ONTOLOGY_SCHEMA, document, edit, json_document

distributed = pytest.importorskip("distributed", reason="the dask extra is part of the dev install")
from oms_accel import dask as od  # noqa: E402


@pytest.fixture(scope="module")
def cluster_client() -> Iterator[distributed.Client]:
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        with distributed.Client(cluster) as c:
            yield c


@pytest.fixture
def client(cluster_client: distributed.Client) -> distributed.Client:
    """The cluster with both its workers: a worker killed by an earlier test
    is started again by its nanny, and until it has registered a test would
    see one worker (a sharded index then makes one shard, not two)."""
    cluster_client.wait_for_workers(2, timeout=120)
    return cluster_client


def chains(tmp_path: Path, n: int = 4, versions: int = 3) -> list[list[Path]]:
    out = []
    for c in range(n):
        docs = [document(40_000, seed=c)]
        for v in range(1, versions):
            docs.append(edit(docs[-1], 0.01, seed=100 * c + v))
        paths = []
        for v, d in enumerate(docs):
            p = tmp_path / f"doc{c}.v{v}.json"
            p.write_bytes(d)
            paths.append(p)
        out.append(paths)
    return out


def test_bulk_encoding_equals_one_process_and_decodes(client: distributed.Client, tmp_path: Path) -> None:
    history = chains(tmp_path)
    (tmp_path / "broken.json").write_bytes(b"x")
    enc = DeltaEncoder("wasm")
    summary = od.encode_chains([*history, [tmp_path / "missing.json", tmp_path / "broken.json"]], client=client, encoder=enc)
    assert summary.done == 8 and [f[0] for f in summary.failures] == [str(tmp_path / "broken.json")]
    assert 0 < summary.ratio < 0.2 and summary.bytes_out == sum(os.path.getsize(f"{c[v]}.delta") for c in history for v in (1, 2))
    for chain in history:
        for v in (1, 2):
            delta = Path(f"{chain[v]}.delta").read_bytes()
            assert delta == enc.encode(chain[v - 1].read_bytes(), chain[v].read_bytes())  # exactly the single-process bytes
    triples = [(c[v - 1], Path(f"{c[v]}.delta"), tmp_path / f"out{i}.{v}") for i, c in enumerate(history) for v in (1, 2)]
    decoded = od.decode_files(triples, client=client, encoder=enc)
    assert decoded.done == 8 and not decoded.failures
    assert all(out.read_bytes() == Path(str(d).removesuffix(".delta")).read_bytes() for _, d, out in triples)


def test_file_jobs_are_cut_by_bytes_and_feed_every_thread() -> None:
    mib = 1 << 20
    # Small inputs: one task per worker thread, about even in bytes.
    assert od.split_by_bytes(list(range(8)), [mib] * 8, 2) == [[0, 1, 2, 3], [4, 5, 6, 7]]
    assert od.split_by_bytes(list(range(3)), [mib] * 3, 4) == [[0], [1], [2]]
    # Large ones: tasks of about TASK_BYTES, in order, each item once.
    sizes = [5 * mib, 20 * mib, 1 * mib, 30 * mib, 8 * mib, 2 * mib, 40 * mib, 4 * mib]
    parts = od.split_by_bytes(list(range(8)), sizes, 1)
    assert [i for p in parts for i in p] == list(range(8))
    assert len(parts) == -(-sum(sizes) // od.TASK_BYTES)
    # Sizes this process cannot see (all 0): items are counted instead.
    assert od.split_by_bytes(list(range(4)), [0] * 4, 2) == [[0, 1], [2, 3]]
    assert od.split_by_bytes([], [], 2) == []
    assert od.split_by_bytes([0, 1], [5, 0], 1) == [[0, 1]]


def test_a_task_reads_its_files_through_one_buffer(tmp_path: Path) -> None:
    buffer = od._Buffer()
    for i, size in enumerate([1000, 5, 0, 3000, 10]):
        path = tmp_path / f"f{i}"
        path.write_bytes(bytes((i + j) % 251 for j in range(size)))
        assert bytes(buffer.read(str(path))) == path.read_bytes()
    assert len(buffer.buf) == 3000  # grown once to the largest, then reused


def test_a_killed_worker_leaves_nothing_half_written(client: distributed.Client, tmp_path: Path) -> None:
    history = chains(tmp_path, n=6, versions=2)
    marker = tmp_path / "killed-once"
    enc = KillingEncoder(str(marker), f"{history[0][1]}.delta")
    summary = od.encode_chains(history, client=client, encoder=enc)
    assert marker.exists(), "no worker was killed"
    assert summary.done == 6 and not summary.failures
    plain = DeltaEncoder("python")
    for chain in history:
        assert Path(f"{chain[1]}.delta").read_bytes() == plain.encode(chain[0].read_bytes(), chain[1].read_bytes())
    assert not list(tmp_path.glob(".*.part")), "a half-written output was left"


class KillingEncoder(DeltaEncoder):
    """Kills its worker process in the middle of writing one of the job's
    outputs, `victim` (once, across the cluster: the marker file says it
    happened)."""

    def __init__(self, marker: str, victim: str) -> None:
        super().__init__("python")
        self.marker, self.victim = marker, victim

    def __reduce__(self) -> tuple[object, ...]:
        return (KillingEncoder, (self.marker, self.victim))

    def encode(self, old: object, new: object) -> bytes:
        out = super().encode(old, new)
        try:
            fd = os.open(self.marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            return out
        os.close(fd)
        # Half of an output, through the same atomic writer the job uses, then death.
        from oms_accel._files import atomic_output

        with atomic_output(self.victim) as f:
            f.write(out[: len(out) // 2])
            f.flush()
            os._exit(1)
        return out


def test_bulk_validation_reports_what_one_process_finds(client: distributed.Client, tmp_path: Path) -> None:
    proc = JsonProcessor("wasm")
    expected = []
    for f in range(3):
        lines = []
        for i in range(40):
            doc = json.loads(json_document(400, seed=f * 100 + i))
            if i % 7 == 3:
                doc["entities"][0]["rank"] = 5
            lines.append(json.dumps(doc))
        lines.insert(10, "{not json")
        path = tmp_path / f"part{f}.ndjson"
        path.write_text("\n".join(lines) + "\n")
        expected += [(str(path), r.line, e.instance_path, e.message) for r in proc.iter_ndjson(path, ONTOLOGY_SCHEMA) for e in r.errors]
    report = od.validate_files(str(tmp_path / "*.ndjson"), ONTOLOGY_SCHEMA, client=client, processor=proc)
    assert report.records == 123 and len(report.bad_records) == 3 and report.invalid == 18
    assert sorted((v.source, v.line, v.instance_path, v.message) for v in report.violations) == sorted(expected)
    missing = od.validate_files([tmp_path / "nope.ndjson"], ONTOLOGY_SCHEMA, client=client)
    assert missing.records == 0 and len(missing.failures) == 1


def test_a_bag_of_documents_validates_to_a_bag_of_violations(client: distributed.Client) -> None:
    import dask.bag as db

    docs = [json_document(300, seed=i) for i in range(20)]
    docs[4] = docs[4].replace('"version": 1', '"version": 0')
    docs[9] = "[1,"
    got = od.validate_bag(db.from_sequence(docs, npartitions=4), ONTOLOGY_SCHEMA).compute()
    assert [(g["record"], g.get("instance_path")) for g in got] == [(4, "/version"), (9, None)]
    assert "error" in got[1]
    deltas = od.encode_bag(db.from_sequence([(d.encode(), d.encode() + b" ") for d in docs[:3]]), DeltaEncoder("python")).compute()
    assert [DeltaEncoder("python").decode(d.encode(), x) for d, x in zip(docs[:3], deltas, strict=True)] == [
        d.encode() + b" " for d in docs[:3]
    ]


def test_a_bag_is_read_once_and_numbered_across_partitions() -> None:
    import dask
    import dask.bag as db

    reads: list[int] = []

    def read(i: int) -> str:
        reads.append(i)
        return "[1," if i in (0, 7, 12) else "{}"

    bag = db.from_sequence(range(13), npartitions=5).map(read)
    with dask.config.set(scheduler="sync"):  # every read in this process, where it is counted
        got = od.validate_bag(bag, {"type": "object"}, JsonProcessor("python")).compute()
    assert [g["record"] for g in got] == [0, 7, 12]
    assert sorted(reads) == list(range(13))  # one pass: no count first


@pytest.mark.parametrize("metric", ["cosine", "l2"])
def test_a_sharded_index_answers_as_one_local_index(client: distributed.Client, metric: str, tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    rows = rng.standard_normal((3000, 32)).astype(np.float32)
    rows[1500:1600] = rows[:100]  # ties across shards: the smaller id wins
    queries = np.concatenate([rng.standard_normal((990, 32)).astype(np.float32), rows[:10]])
    local = VectorIndex(32, metric, backend="wasm")  # type: ignore[arg-type]
    sharded = od.ShardedVectorIndex(32, metric, backend="wasm", client=client)
    for lo in range(0, 3000, 700):
        local.add(rows[lo : lo + 700])
        sharded.add(rows[lo : lo + 700])
    assert sharded.shards == 2 and len(sharded) == 3000
    want = local.search_batch(queries, 10)
    got = sharded.search_batch(queries, 10)
    assert len(got) == 1000
    for (wi, ws), (gi, gs) in zip(want, got, strict=True):
        assert list(wi) == gi and np.asarray(ws, dtype=np.float32).tobytes() == np.asarray(gs, dtype=np.float32).tobytes()
    sharded.save(tmp_path / "shards")
    again = od.ShardedVectorIndex.load(tmp_path / "shards", "wasm", client=client)
    assert again.search_batch(queries[:50], 5) == [(list(i), [float(x) for x in s]) for i, s in local.search_batch(queries[:50], 5)]


def test_each_worker_loads_the_component_when_it_starts(client: distributed.Client) -> None:
    od.validate_files([], ONTOLOGY_SCHEMA, client=client)  # any job registers the warm-up plugin

    def loads() -> dict[str, str]:
        from oms_accel._wasm import component

        return dict(component.LOADS)

    per_worker = client.run(loads)
    assert len(per_worker) == 2 and all(per_worker.values()), per_worker
