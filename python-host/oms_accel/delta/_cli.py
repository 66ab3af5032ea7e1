"""``oms-accel delta encode|decode``: deltas between files."""

from __future__ import annotations

import argparse
import os
from typing import Any

from .. import _command, _progress
from ..limits import Limits
from . import METHODS, SUPPORTED_BACKENDS, DeltaEncoder, Method


def add_parser(sub: Any) -> None:
    delta = sub.add_parser("delta", help="deltas between document versions (zstd patch-from, VCDIFF)")
    dsub = delta.add_subparsers(dest="delta_command", required=True, metavar="ACTION")
    enc = dsub.add_parser("encode", help="write the delta from OLD to NEW")
    enc.add_argument("old", metavar="OLD", help="a file, a pipe, or '-' for standard input")
    enc.add_argument("new", metavar="NEW", help="likewise")
    enc.add_argument(
        "--method",
        choices=METHODS,
        default="auto",
        help="zstd patch-from, or VCDIFF (portable, or by the xdelta3 library); auto: the backend's default",
    )
    enc.add_argument("--level", type=int, default=3, help="zstd level (default 3)")
    enc.set_defaults(func=_encode)
    dec = dsub.add_parser("decode", help="rebuild NEW from OLD and DELTA")
    dec.add_argument("old", metavar="OLD", help="a file, a pipe, or '-' for standard input")
    dec.add_argument("delta", metavar="DELTA", help="likewise")
    dec.add_argument(
        "--max-output", type=int, default=Limits().max_output_bytes, metavar="BYTES", help="refuse to produce more (default 2 GiB)"
    )
    dec.add_argument(
        "--no-verify",
        dest="verify",
        action="store_false",
        help="decode a delta that carries no checksum (wrong bytes, silently, if OLD is not its old version)",
    )
    dec.set_defaults(func=_decode)
    for sp in (enc, dec):
        sp.add_argument("-o", "--output", required=True, metavar="PATH", help="where to write; '-' for standard output")
        _command.add_common(sp, SUPPORTED_BACKENDS)
        _progress.add_options(sp)


def _encoder(args: argparse.Namespace, **limits: Any) -> DeltaEncoder:
    method: Method = getattr(args, "method", "auto")
    return DeltaEncoder(
        args.backend,
        method=method,
        level=getattr(args, "level", 3),
        limits=Limits(timeout_s=args.timeout, **limits),
        verify=getattr(args, "verify", True),
        host=args.host,
    )


def _size(path: str) -> int:
    """For the progress bar: a pipe's size is not known (0)."""
    return os.path.getsize(path) if os.path.isfile(path) else 0


def _encode(args: argparse.Namespace) -> int:
    enc = _encoder(args)
    old, new = _command.input_path(args.old), _command.input_path(args.new)
    with _progress.progress_bar(args.progress, _size(new), "encode") as progress, _command.binary_output(args.output) as out:
        enc.encode_file(old, new, out, progress=progress)
    return 0


def _decode(args: argparse.Namespace) -> int:
    enc = _encoder(args, max_output_bytes=args.max_output)
    old, delta = _command.input_path(args.old), _command.input_path(args.delta)
    with (
        _progress.progress_bar(args.progress, _size(delta), "decode") as progress,
        _command.binary_output(args.output) as out,
    ):
        enc.decode_file(old, delta, out, progress=progress)
    return 0
