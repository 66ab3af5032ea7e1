"""The ``oms-accel`` command.

Exit codes: 0 success; 1 the operation failed (corrupt delta, limit reached);
2 usage error or unreadable input; 130 interrupted. Nothing is written to the
output path unless the operation succeeds.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from collections.abc import Iterator, Sequence
from typing import Any

from . import __version__, _cli_json, _cli_vector, _progress
from .backends import backend_report
from .delta import DeltaEncoder, Method
from .errors import AccelError
from .limits import Limits

EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 1, 2, 130


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        runner = {"json": _cli_json.run, "vector": _cli_vector.run}.get(args.command, args.func)
        result: int = runner(args)
        return result
    except KeyboardInterrupt:
        print("oms-accel: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except OSError as e:
        print(f"oms-accel: {e.filename or ''}: {e.strerror or e}".replace(": : ", ": "), file=sys.stderr)
        return EXIT_USAGE
    except AccelError as e:
        print(f"oms-accel: error: {e}", file=sys.stderr)
        return EXIT_FAILED


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="oms-accel", description="Fast, sandboxed deltas between document versions (zstd patch-from, VCDIFF), and JSON at scale."
    )
    p.add_argument("--version", action="version", version=f"oms-accel {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    info = sub.add_parser("info", help="backends, versions and cache location")
    info.add_argument("--json", action="store_true", help="print JSON")
    info.set_defaults(func=_info)

    tour = sub.add_parser("tour", help="a short demonstration on a generated document history")
    tour.add_argument("--size", type=int, default=4 << 20, metavar="BYTES", help="document size (default 4 MiB)")
    tour.add_argument("--versions", type=int, default=5, metavar="N", help="versions in the history (default 5)")
    tour.set_defaults(func=lambda a: __import__("oms_accel.tour", fromlist=["run"]).run(a.size, a.versions))

    delta = sub.add_parser("delta", help="VCDIFF delta encoding and decoding")
    dsub = delta.add_subparsers(dest="delta_command", required=True, metavar="ACTION")
    enc = dsub.add_parser("encode", help="write the delta from OLD to NEW")
    enc.add_argument("old", metavar="OLD")
    enc.add_argument("new", metavar="NEW")
    enc.set_defaults(func=_delta_encode)
    dec = dsub.add_parser("decode", help="rebuild NEW from OLD and DELTA")
    dec.add_argument("old", metavar="OLD")
    dec.add_argument("delta", metavar="DELTA")
    dec.add_argument(
        "--max-output", type=int, default=Limits().max_output_bytes, metavar="BYTES", help="refuse to produce more (default 2 GiB)"
    )
    dec.set_defaults(func=_delta_decode)
    enc.add_argument(
        "--method",
        choices=["auto", "vcdiff", "xdelta3", "zstd"],
        default="auto",
        help="zstd patch-from, or VCDIFF (portable, or by the xdelta3 library); auto: zstd where the native module loads",
    )
    enc.add_argument("--level", type=int, default=3, help="zstd level (default 3)")
    for sp in (enc, dec):
        sp.add_argument("-o", "--output", required=True, metavar="PATH", help="where to write; '-' for standard output")
        sp.add_argument(
            "--backend",
            choices=["auto", "native", "wasm", "python"],
            default=None,
            help="default: $OMS_ACCEL_BACKEND, else the best that loads",
        )
        sp.add_argument("--timeout", type=float, default=Limits().timeout_s, metavar="SECONDS", help="time limit per window of work")
        _progress.add_options(sp)
    _cli_json.add_parser(sub, _progress.add_options)
    _cli_vector.add_parser(sub, _progress.add_options)
    return p


def _info(args: argparse.Namespace) -> int:
    from . import _wasm_runtime as rt

    report = backend_report()
    info: dict[str, Any] = {
        "version": __version__,
        "backends": {name: ("available" if why is None else f"unavailable: {why}") for name, why in report.items()},
        "wasmtime": rt.wasmtime_version(),
        "component": str(rt.component_path()),
        "cache_dir": str(rt.cache_dir()),
        "scratch_dir": rt.scratch_base(),
    }
    if report["wasm"] is None:
        runtime = rt.get_runtime()
        info["component_sha256"] = runtime.wasm_sha256
        info["compiled_cache_file"] = str(runtime.cache_path) if runtime.cache_path else None
    if report["native"] is None:
        from . import _native

        version, profile, target = _native.build_info()
        info["native"] = f"{version} ({profile}, {target}), zstd {_native.ZSTD_VERSION}"
    if args.json:
        print(json.dumps(info, indent=2))
    else:
        width = max(map(len, info))
        for key, value in info.items():
            if isinstance(value, dict):
                print(f"{key}:")
                for k, v in value.items():
                    print(f"  {k:<8} {v}")
            else:
                print(f"{key:<{width}}  {value}")
    return 0


def _encoder(args: argparse.Namespace, max_output: int | None = None) -> DeltaEncoder:
    limits = Limits(timeout_s=args.timeout, **({"max_output_bytes": max_output} if max_output is not None else {}))
    method: Method = getattr(args, "method", "auto")
    if args.backend in ("wasm", "python") and method == "auto":
        method = "vcdiff"
    return DeltaEncoder(args.backend, method=method, level=getattr(args, "level", 3), limits=limits)


def _delta_encode(args: argparse.Namespace) -> int:
    enc = _encoder(args)
    with _progress.progress_bar(args.progress, os.path.getsize(args.new), "encode") as progress, _output(args.output) as out:
        enc.encode_file(args.old, args.new, out, progress=progress)
    return 0


def _delta_decode(args: argparse.Namespace) -> int:
    enc = _encoder(args, args.max_output)
    with _progress.progress_bar(args.progress, os.path.getsize(args.delta), "decode") as progress, _output(args.output) as out:
        enc.decode_file(args.old, args.delta, out, progress=progress)
    return 0


@contextlib.contextmanager
def _output(path: str) -> Iterator[str]:
    """The path to hand to the encoder: `path`, or for '-' a temporary file
    that is copied to standard output once complete."""
    if path != "-":
        yield path
        return
    if sys.stdout.isatty():
        raise AccelError("refusing to write binary output to a terminal (use -o FILE, or redirect)")
    import tempfile

    with tempfile.TemporaryDirectory(prefix="oms-accel-") as d:
        tmp = os.path.join(d, "out")
        yield tmp
        with open(tmp, "rb") as f:
            while chunk := f.read(1 << 20):
                sys.stdout.buffer.write(chunk)
        sys.stdout.buffer.flush()


if __name__ == "__main__":
    sys.exit(main())
