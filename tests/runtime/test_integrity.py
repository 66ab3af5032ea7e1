"""The component is the one built: its sha256 is pinned into the package, a
component that does not match is refused naming both hashes (on every host),
and another component runs only with its expected hash given. Compiled code
is read from the cache only where no one else can write it."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from importlib import resources
from pathlib import Path

import pytest

from ..conftest import WASM_HOSTS

COMPONENT = Path(str(resources.files("oms_accel") / "oms_accel.wasm"))
PINNED = (resources.files("oms_accel") / "oms_accel.wasm.sha256").read_text().strip()
USE = "from oms_accel import DeltaEncoder\nprint(DeltaEncoder('wasm').decode(b'a', DeltaEncoder('wasm').encode(b'a', b'b')))"


def run(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], env={**os.environ, **env}, capture_output=True, text=True, timeout=300, check=False)


def test_the_package_pins_its_components_hash_and_info_prints_it() -> None:
    assert PINNED == hashlib.sha256(COMPONENT.read_bytes()).hexdigest()
    exe = Path(sys.executable).parent / "oms-accel"
    info = json.loads(subprocess.run([exe, "info", "--json"], check=True, capture_output=True, text=True).stdout)
    assert info["component_sha256_pinned"] == info["component_sha256"] == PINNED


@pytest.mark.parametrize("host", WASM_HOSTS)
def test_an_altered_byte_is_refused_naming_both_hashes(host: str, tmp_path: Path) -> None:
    altered = bytearray(COMPONENT.read_bytes())
    altered[len(altered) // 2] ^= 1
    (tmp_path / "oms_accel.wasm").write_bytes(altered)
    bad = hashlib.sha256(altered).hexdigest()
    p = run(USE, OMS_ACCEL_WASM=str(tmp_path / "oms_accel.wasm"), OMS_ACCEL_WASM_SHA256=PINNED, OMS_ACCEL_WASM_HOST=host)
    assert p.returncode != 0 and "BackendUnavailableError" in p.stderr
    assert bad in p.stderr and PINNED in p.stderr and "refusing the component" in p.stderr


@pytest.mark.parametrize("host", WASM_HOSTS)
def test_another_component_needs_its_expected_hash(host: str, tmp_path: Path) -> None:
    shutil.copy(COMPONENT, tmp_path / "other.wasm")
    p = run(USE, OMS_ACCEL_WASM=str(tmp_path / "other.wasm"), OMS_ACCEL_WASM_HOST=host)
    assert p.returncode != 0 and "OMS_ACCEL_WASM_SHA256" in p.stderr
    p = run(USE, OMS_ACCEL_WASM=str(tmp_path / "other.wasm"), OMS_ACCEL_WASM_SHA256=PINNED.upper(), OMS_ACCEL_WASM_HOST=host)
    assert p.returncode == 0 and p.stdout.strip() == "b'b'", p.stderr


@pytest.mark.parametrize("host", WASM_HOSTS)
def test_a_cache_others_can_write_is_never_read(host: str, tmp_path: Path) -> None:
    """A valid compiled component planted in a group-writable cache
    directory is not loaded: the component is compiled in memory, with one
    warning, and nothing is written there."""
    from oms_accel._wasm import component, runtime, rust

    loaded = (rust.get_runtime() if host == "rust" else runtime.get_runtime()).cache_path
    assert loaded is not None and loaded.is_file()
    shared = tmp_path / "shared"
    shared.mkdir()
    for f in (loaded, loaded.with_suffix(".sha256")):  # the planted files: what this process loaded
        shutil.copy(f, shared / f.name)
    shared.chmod(0o775)
    load = (
        "from oms_accel import DeltaEncoder\nfrom oms_accel._wasm import component\n"
        f"DeltaEncoder('wasm').encode(b'a', b'b')\nprint(component.LOADS[{host!r}])"
    )
    p = run(load, OMS_ACCEL_CACHE_DIR=str(shared), OMS_ACCEL_WASM_HOST=host)
    assert p.returncode == 0 and "compiled in memory" in p.stdout and "writable by group" in p.stdout, p.stdout
    assert p.stderr.count("RuntimeWarning") == 1 and "not using the compiled-code cache" in p.stderr
    assert sorted(f.name for f in shared.iterdir()) == sorted([loaded.name, loaded.with_suffix(".sha256").name])
    # A new cache directory is made private; in a private one, a file that
    # others can write is not trusted either.
    assert component._untrusted_cache(tmp_path / "new" / "cache") is None
    assert (tmp_path / "new" / "cache").stat().st_mode & 0o777 == 0o700
    shared.chmod(0o700)
    assert component._untrusted_cache(shared) is None
    (shared / loaded.name).chmod(0o666)
    assert not component._owned_and_private(shared / loaded.name)


@pytest.mark.parametrize("host", WASM_HOSTS)
def test_what_is_compiled_is_what_was_checked(host: str, tmp_path: Path) -> None:
    """The component file replaced between its check and its compile (by
    whoever can write it) changes nothing: the checked bytes are compiled."""
    shutil.copy(COMPONENT, tmp_path / "other.wasm")
    swap = (
        "import os\n"
        "import oms_accel._wasm.component as comp\n"
        "checked = comp.verified_component\n"
        "def then_swapped():\n"
        "    result = checked()\n"
        "    with open(os.environ['OMS_ACCEL_WASM'], 'wb') as f:\n"
        "        f.write(b'\\0asm\\x0d\\0\\x01\\0 not the component')\n"
        "    return result\n"
        "comp.verified_component = then_swapped\n"
    )
    env = {"OMS_ACCEL_WASM": str(tmp_path / "other.wasm"), "OMS_ACCEL_WASM_SHA256": PINNED, "OMS_ACCEL_WASM_HOST": host}
    # A cache of its own, so that the component is compiled, not loaded.
    p = run(swap + USE, OMS_ACCEL_CACHE_DIR=str(tmp_path / "cache"), **env)
    assert p.returncode == 0 and p.stdout.strip() == "b'b'", p.stderr
    assert (tmp_path / "other.wasm").read_bytes().startswith(b"\0asm\x0d")
