"""Fetches the conformance suites into tests/data/ (set-up runs this; nothing
here is committed):

- JSON-Schema-Test-Suite, from the PyPI sdist of `jsonschema` (its json/ folder:
  tests/ and remotes/), at the version pinned in python-host/requirements.lock;
- the RFC 6902 tests of the npm package `json-patch-test-suite`.
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
JSON_PATCH_SUITE = "json-patch-test-suite@1.1.0"


def pinned(name: str) -> str:
    lock = (ROOT / "python-host" / "requirements.lock").read_text()
    m = re.search(rf"^{re.escape(name)}==([^\s]+)$", lock, re.M)
    if not m:
        sys.exit(f"{name} is not pinned in python-host/requirements.lock")
    return m.group(1)


def extract(archive: bytes, mode: str, prefix: str, dest: Path) -> int:
    """Extracts the members under `prefix` into `dest`, without the prefix; refuses any path that escapes."""
    count = 0
    with tarfile.open(fileobj=io.BytesIO(archive), mode=mode) as tar:
        for member in tar.getmembers():
            if not member.isfile() or not member.name.startswith(prefix):
                continue
            rel = Path(member.name[len(prefix) :])
            if rel.is_absolute() or ".." in rel.parts:
                continue
            target = dest / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            source = tar.extractfile(member)
            assert source is not None
            target.write_bytes(source.read())
            count += 1
    return count


def fetch_json_schema_suite(tmp: Path) -> None:
    version = pinned("jsonschema")
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--no-binary", ":all:", f"jsonschema=={version}", "-d", str(tmp)],
        check=True,
    )
    sdist = next(tmp.glob("jsonschema-*.tar.gz")).read_bytes()
    dest = DATA / "JSON-Schema-Test-Suite"
    shutil.rmtree(dest, ignore_errors=True)
    n = extract(sdist, "r:gz", f"jsonschema-{version}/json/", dest)
    print(f"JSON-Schema-Test-Suite (jsonschema {version} sdist): {n} files")


def fetch_json_patch_suite(tmp: Path) -> None:
    subprocess.run(["npm", "pack", "--silent", "--pack-destination", str(tmp), JSON_PATCH_SUITE], check=True, stdout=subprocess.DEVNULL)
    tgz = next(tmp.glob("json-patch-test-suite-*.tgz")).read_bytes()
    dest = DATA / "json-patch-test-suite"
    shutil.rmtree(dest, ignore_errors=True)
    n = extract(tgz, "r:gz", "package/", dest)
    print(f"{JSON_PATCH_SUITE}: {n} files")


def main() -> None:
    DATA.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as d:
        fetch_json_schema_suite(Path(d))
        fetch_json_patch_suite(Path(d))
    (DATA / ".fetched").write_text("ok\n")


if __name__ == "__main__":
    main()
