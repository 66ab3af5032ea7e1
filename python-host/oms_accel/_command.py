"""What every ``oms-accel`` subcommand shares: exit codes, the mapping of
errors to them, the common options, and writing results.

Exit codes: 0 success; 1 the operation failed (a corrupt delta, a document
invalid against its schema, a patch that does not apply, a limit reached);
2 usage error or unusable input (a missing file, text that is not JSON, an
invalid schema, a bad vector, an index file that is not one); 130 interrupted.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence

from ._files import atomic_output
from .errors import AccelArgumentError, AccelError, JsonError, PatchError, SchemaError, VectorError
from .limits import Limits

EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 1, 2, 130


class InputError(AccelError):
    """An input the command cannot use: exit code 2."""


def run(func: Callable[[argparse.Namespace], int], args: argparse.Namespace) -> int:
    """Runs a subcommand, turning its errors into a message and an exit code."""
    try:
        return func(args)
    except KeyboardInterrupt:
        print("oms-accel: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except OSError as e:
        print(f"oms-accel: {e.filename or ''}: {e.strerror or e}".replace(": : ", ": "), file=sys.stderr)
        return EXIT_USAGE
    except PatchError as e:  # a JsonError, but the inputs were fine: the operation failed
        print(f"oms-accel: error: {e}", file=sys.stderr)
        return EXIT_FAILED
    except (InputError, AccelArgumentError, JsonError, SchemaError, VectorError) as e:
        print(f"oms-accel: {e}", file=sys.stderr)
        return EXIT_USAGE
    except AccelError as e:
        print(f"oms-accel: error: {e}", file=sys.stderr)
        return EXIT_FAILED


def add_common(parser: argparse.ArgumentParser, backends: Sequence[str]) -> None:
    """--backend (of those that offer the capability), --host and --timeout."""
    from ._wasm import HOSTS

    # wasm/<host> names both at once, as backend= does in the API.
    wasm_hosts = [f"wasm/{h}" for h in HOSTS] if "wasm" in backends else []
    parser.add_argument(
        "--backend",
        choices=["auto", *backends, *wasm_hosts],
        default=None,
        help="default: $OMS_ACCEL_BACKEND, else the best that loads",
    )
    if wasm_hosts:
        parser.add_argument(
            "--host",
            choices=["auto", *HOSTS],
            default=None,
            help="the wasm backend's host of the component (default: $OMS_ACCEL_WASM_HOST, else the best that loads)",
        )
    parser.add_argument(
        "--timeout",
        type=timeout_arg,
        default=Limits().timeout_s,
        metavar="SECONDS",
        help="time limit per call; 'none' for no limit (faster on the Rust host)",
    )


def timeout_arg(text: str) -> float | None:
    """A --timeout value: seconds, or 'none' (no time limit)."""
    if text.strip().lower() == "none":
        return None
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds or 'none', not {text!r}") from None


def input_path(path: str) -> str:
    """A file argument: '-' is standard input (read once, whatever it is)."""
    return "/dev/stdin" if path == "-" else path


def emit(path: str, text: str) -> None:
    """Writes a text result to standard output ('-') or to `path`, atomically."""
    if path == "-":
        sys.stdout.write(text)
        return
    with atomic_output(path) as f:
        f.write(text.encode("utf-8"))


@contextlib.contextmanager
def binary_output(path: str) -> Iterator[str]:
    """The path to hand to an operation that writes a file: `path`, or for
    '-' a temporary file that is copied to standard output once complete."""
    if path != "-":
        yield path
        return
    if sys.stdout.isatty():
        raise InputError("refusing to write binary output to a terminal (use -o FILE, or redirect)")
    with tempfile.TemporaryDirectory(prefix="oms-accel-") as d:
        tmp = os.path.join(d, "out")
        yield tmp
        with open(tmp, "rb") as f:
            while chunk := f.read(1 << 20):
                sys.stdout.buffer.write(chunk)
        sys.stdout.buffer.flush()
