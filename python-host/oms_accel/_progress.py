"""The CLI's progress bar (tqdm, on standard error)."""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Callable, Iterator

#: Inputs at least this large get a progress bar on a terminal by default.
PROGRESS_THRESHOLD = 32 << 20

Progress = Callable[[int, int], None]


def add_options(parser: argparse.ArgumentParser) -> None:
    """--progress / -q: always, or never, show the bar (default: on a terminal, for large inputs)."""
    bar = parser.add_mutually_exclusive_group()
    bar.add_argument("--progress", action="store_true", default=None, help="always show a progress bar")
    bar.add_argument("-q", "--quiet", dest="progress", action="store_false", help="never show a progress bar")


@contextlib.contextmanager
def progress_bar(show: bool | None, size: int, label: str) -> Iterator[Progress | None]:
    """A callback taking (done, total) bytes that drives a bar, or None when
    no bar is shown (`show` None: only on a terminal, for large inputs)."""
    if show is None:
        show = sys.stderr.isatty() and size >= PROGRESS_THRESHOLD
    if not show:
        yield None
        return
    from tqdm import tqdm

    with tqdm(total=size, unit="B", unit_scale=True, unit_divisor=1024, desc=label, file=sys.stderr, leave=False) as bar:

        def update(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        yield update
