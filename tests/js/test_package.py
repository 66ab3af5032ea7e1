"""The JS package as a user gets it: `npm pack`'s tarball installed into a
scratch project and imported, and proof that it carries the very component
the Python package loads (its recorded sha256, and its bindings identical to
a fresh transpile of the Python package's oms_accel.wasm)."""

from __future__ import annotations

import hashlib
import json
import subprocess
import tarfile
from importlib import resources
from pathlib import Path

import pytest

from ..conftest import tool

PACKAGE = Path(__file__).parents[2] / "js"

USE = """
import * as oms from 'oms-accel';
const old = new TextEncoder().encode('{"a": [1, 2, 3], "b": "x"}'.repeat(50));
const neu = new TextEncoder().encode('{"a": [1, 2, 4], "b": "x"}'.repeat(50));
const delta = oms.encodeDelta(old, neu);
let error = null;
try { oms.JsonDocument.parse('[1,'); } catch (e) { error = [e.constructor.name, e instanceof oms.OmsAccelError, e.code]; }
console.log(JSON.stringify({
  sha256: oms.componentSha256,
  roundTrip: Buffer.from(oms.decodeDelta(old, delta)).equals(Buffer.from(neu)),
  smaller: delta.length < neu.length / 10,
  error,
}));
"""


def npm(*args: str, cwd: Path) -> str:
    p = subprocess.run([tool("npm"), *args], cwd=cwd, check=True, capture_output=True, text=True, timeout=300)
    return p.stdout


@pytest.fixture(scope="module")
def tarball(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("pack")
    npm("pack", "--silent", "--pack-destination", str(out), cwd=PACKAGE)
    (found,) = out.glob("oms-accel-*.tgz")
    return found


def component() -> bytes:
    return (resources.files("oms_accel") / "oms_accel.wasm").read_bytes()


def test_the_tarball_holds_the_api_and_the_bindings_only(tarball: Path) -> None:
    with tarfile.open(tarball) as t:
        names = {n.removeprefix("package/") for n in t.getnames()}
    assert {
        "index.js",
        "api.js",
        "index.d.ts",
        "package.json",
        "build/oms_accel.js",
        "build/component.js",
        "build/oms_accel.core.wasm",
    } <= names
    assert not [n for n in names if n.startswith(("demo/", "test/", "node_modules/", "scripts/"))]


def test_installed_from_the_tarball_it_imports_and_works(tarball: Path, tmp_path: Path) -> None:
    (tmp_path / "package.json").write_text(json.dumps({"name": "scratch", "private": True, "type": "module"}))
    npm("install", "--silent", "--no-audit", "--no-fund", "--prefer-offline", str(tarball), cwd=tmp_path)
    (tmp_path / "use.mjs").write_text(USE)
    p = subprocess.run([tool("node"), "use.mjs"], cwd=tmp_path, check=True, capture_output=True, text=True, timeout=120)
    got = json.loads(p.stdout)
    assert got == {
        "sha256": hashlib.sha256(component()).hexdigest(),
        "roundTrip": True,
        "smaller": True,
        "error": ["JsonSyntaxError", True, "syntax"],
    }


def test_the_bindings_are_a_transpile_of_the_python_packages_component(tarball: Path, tmp_path: Path) -> None:
    """The same .wasm, byte for byte: transpiling the Python package's
    component again gives exactly the files the tarball ships."""
    (tmp_path / "oms_accel.wasm").write_bytes(component())
    subprocess.run(
        [tool("node"), str(PACKAGE / "scripts" / "build.mjs"), str(tmp_path / "oms_accel.wasm"), str(tmp_path / "fresh")],
        check=True,
        capture_output=True,
        timeout=300,
    )
    with tarfile.open(tarball) as t:
        shipped = {
            m.name.removeprefix("package/build/"): t.extractfile(m).read()
            for m in t.getmembers()
            if m.isfile() and m.name.startswith("package/build/")
        }  # type: ignore[union-attr]
    fresh = {str(f.relative_to(tmp_path / "fresh")): f.read_bytes() for f in (tmp_path / "fresh").rglob("*") if f.is_file()}
    assert shipped.keys() == fresh.keys()
    assert [name for name in shipped if shipped[name] != fresh[name]] == []
