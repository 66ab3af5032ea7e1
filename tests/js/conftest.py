"""What the JS package's tests share: the demo page's server and a browser
session that runs steps on it (js/test/browser.mjs)."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ..conftest import tool

PACKAGE = Path(__file__).parents[2] / "js"
DATA = PACKAGE / "demo" / "data"


@pytest.fixture(scope="session")
def demo_server() -> Iterator[str]:
    """The demo's server on a free port of 127.0.0.1; the page's URL."""
    assert (DATA / "v1.json").is_file(), "the demo's data is missing: run `make build`"
    p = subprocess.Popen([tool("node"), str(PACKAGE / "demo" / "serve.mjs"), "0"], stdout=subprocess.PIPE, text=True)
    try:
        assert p.stdout is not None
        yield p.stdout.readline().strip()
    finally:
        p.terminate()
        p.wait(10)


def run_page(url: str, steps: list[dict[str, Any]], workdir: Path) -> dict[str, Any]:
    """Runs `steps` on the page in one headless Chromium session; what it saw."""
    (workdir / "steps.json").write_text(json.dumps(steps))
    driver = [tool("node"), str(PACKAGE / "test" / "browser.mjs"), url, str(workdir / "steps.json"), str(workdir / "out.json")]
    subprocess.run(driver, check=True, timeout=180)
    out: dict[str, Any] = json.loads((workdir / "out.json").read_text())
    return out
