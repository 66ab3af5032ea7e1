"""Deltas of real document histories (tests/corpus.py, fetched at set-up):
every backend, method and host rebuilds every new version, and the xdelta3
tool reads our VCDIFF of them and we read its own, both ways."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from oms_accel import DeltaEncoder

from .. import corpus
from ..conftest import ENCODERS, VCDIFF_ENCODERS, make

if not corpus.available():
    corpus.fetch()
SMALL = corpus.small_pairs()


def test_the_corpus_is_real_and_changed() -> None:
    # Four releases of a real data package: hundreds of edited documents.
    assert len(SMALL) >= 200
    assert all(old != new and 10_000 <= len(new) <= 500_000 for _, old, new in SMALL)
    assert all(len(new) >= 1 << 20 for _, _, new in corpus.large_pairs())


@pytest.mark.parametrize("pair", ENCODERS, ids=[f"{b}-{m}" for b, m in ENCODERS])
def test_every_real_small_document_round_trips(pair: tuple[str, str]) -> None:
    enc = make(pair)
    total = 0
    for name, old, new in SMALL:
        delta = enc.encode(old, new)
        assert enc.decode(old, delta) == new, name
        total += len(delta)
    # Real edits are small: the deltas together are a fraction of the new versions.
    assert total < sum(len(new) for _, _, new in SMALL) / 4


@pytest.mark.parametrize("pair", ENCODERS, ids=[f"{b}-{m}" for b, m in ENCODERS])
def test_every_real_large_pair_round_trips(pair: tuple[str, str]) -> None:
    enc = make(pair)
    for name, old, new in corpus.large_pairs():
        delta = enc.encode(old, new)
        assert enc.decode(old, delta) == new, name
        assert len(delta) < len(new) / 4, name


@pytest.mark.parametrize("pair", VCDIFF_ENCODERS, ids=[f"{b}-{m}" for b, m in VCDIFF_ENCODERS])
def test_xdelta3_reads_ours_and_we_read_its_on_real_pairs(pair: tuple[str, str], xdelta3: str, tmp_path: Path) -> None:
    enc: DeltaEncoder = make(pair)
    o, d, out = tmp_path / "old", tmp_path / "delta", tmp_path / "out"
    for name, old, new in [*SMALL[::25], corpus.source_tree()]:
        o.write_bytes(old)
        d.write_bytes(enc.encode(old, new))
        subprocess.run([xdelta3, "-d", "-f", "-s", str(o), str(d), str(out)], check=True, capture_output=True)
        assert out.read_bytes() == new, name
        (tmp_path / "new").write_bytes(new)
        subprocess.run(
            [xdelta3, "-e", "-f", "-S", "none", "-9", "-s", str(o), str(tmp_path / "new"), str(d)], check=True, capture_output=True
        )
        assert enc.decode(old, d.read_bytes()) == new, name
