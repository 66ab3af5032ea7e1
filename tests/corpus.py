"""The real delta corpus: consecutive releases of documents nobody here
generated, fetched from the npm registry at set-up (never committed) and
read from the tarballs as they came.

- Small documents: @mdn/browser-compat-data from 2.0.4 to 3.0.0 shipped each
  browser feature as its own JSON file (2,256 of them, 1 KB to 1 MB). Every
  file that changed between two consecutive releases and is 10-500 KB in
  the newer one is a pair: the typical document of a store, edited the way
  people edit (many short changes, added and moved entries).
- The concatenation: every JSON file of 2.0.7 against every file of 3.0.0,
  in path order (about 18 MB): a large document with scattered edits.
- One large document: data.json of 5.5.0 against 5.5.1 (about 13 MB, minified).
- Another kind: two releases of lodash (4.17.20, 4.17.21) as uncompressed
  tar streams (a source tree, about 1.4 MB).

Usage: python tests/corpus.py (set-up runs it; a no-op once fetched).
"""

from __future__ import annotations

import gzip
import subprocess
import sys
import tarfile
from functools import cache
from itertools import pairwise
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DIR = ROOT / "tests" / "data" / "corpus"
BCD = "@mdn/browser-compat-data"
#: Consecutive releases whose data ships as one JSON file per feature.
SERIES = ("2.0.4", "2.0.5", "2.0.6", "2.0.7", "3.0.0")
LARGE = ("5.5.0", "5.5.1")
TREE = ("lodash", ("4.17.20", "4.17.21"))
SMALL_BYTES = (10_000, 500_000)

Pair = tuple[str, bytes, bytes]  # name, old, new


def _tarball(package: str, version: str) -> Path:
    return DIR / f"{package.lstrip('@').replace('/', '-')}-{version}.tgz"


def _wanted() -> list[tuple[str, str]]:
    return [(BCD, v) for v in SERIES + LARGE] + [(TREE[0], v) for v in TREE[1]]


def fetch() -> None:
    DIR.mkdir(parents=True, exist_ok=True)
    missing = [f"{p}@{v}" for p, v in _wanted() if not _tarball(p, v).exists()]
    if missing:
        # npm checks each tarball against the registry's integrity hash.
        subprocess.run(["npm", "pack", "--silent", "--pack-destination", str(DIR), *missing], check=True, stdout=subprocess.DEVNULL)
    for p, v in _wanted():
        if not _tarball(p, v).exists():
            sys.exit(f"npm pack did not leave {_tarball(p, v).name}")
    (DIR / ".fetched").write_text("ok\n")


def available() -> bool:
    return (DIR / ".fetched").exists()


@cache
def _json_files(version: str) -> dict[str, bytes]:
    """The release's JSON files by path (its package.json aside)."""
    with tarfile.open(_tarball(BCD, version)) as tar:
        return {
            m.name: tar.extractfile(m).read()  # type: ignore[union-attr]
            for m in tar.getmembers()
            if m.isfile() and m.name.endswith(".json") and m.name != "package/package.json"
        }


def small_pairs() -> list[Pair]:
    """Every document changed between consecutive releases of SERIES, 10-500 KB new."""
    pairs: list[Pair] = []
    for a, b in pairwise(SERIES):
        old, new = _json_files(a), _json_files(b)
        for name in sorted(old.keys() & new.keys()):
            if old[name] != new[name] and SMALL_BYTES[0] <= len(new[name]) <= SMALL_BYTES[1]:
                pairs.append((f"{b}:{name.removeprefix('package/')}", old[name], new[name]))
    return pairs


def concatenation() -> Pair:
    old, new = _json_files(SERIES[-2]), _json_files(SERIES[-1])
    return (f"bcd {SERIES[-2]}..{SERIES[-1]} concatenated", b"".join(old[k] for k in sorted(old)), b"".join(new[k] for k in sorted(new)))


def large_document() -> Pair:
    def data(version: str) -> bytes:
        with tarfile.open(_tarball(BCD, version)) as tar:
            return tar.extractfile("package/data.json").read()  # type: ignore[union-attr]

    return (f"bcd data.json {LARGE[0]}..{LARGE[1]}", data(LARGE[0]), data(LARGE[1]))


def source_tree() -> Pair:
    package, (a, b) = TREE
    old, new = (gzip.decompress(_tarball(package, v).read_bytes()) for v in (a, b))
    return (f"{package} {a}..{b} tar", old, new)


def large_pairs() -> list[Pair]:
    return [concatenation(), large_document(), source_tree()]


if __name__ == "__main__":
    fetch()
    n = len(small_pairs())
    sizes = ", ".join(f"{name}: {len(new) / 1e6:.1f} MB" for name, _, new in large_pairs())
    print(f"delta corpus: {n} small real pairs; {sizes}")
