"""The ``oms-accel`` command: ``info``, ``tour``, and one group of
subcommands per capability (``delta``, ``json``, ``vector``), each defined
beside its capability. Exit codes are in `_command`."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

from . import __version__, _command
from .backends import backend_report
from .delta import _cli as delta_cli
from .json import _cli as json_cli
from .vector import _cli as vector_cli


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    return _command.run(args.func, args)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="oms-accel",
        description="Fast, sandboxed Rust for a Python service: deltas between document versions (zstd patch-from, VCDIFF), "
        "JSON for large documents (validation, queries, patches, NDJSON), and exact vector search.",
    )
    p.add_argument("--version", action="version", version=f"oms-accel {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    info = sub.add_parser("info", help="backends, versions and cache location")
    info.add_argument("--json", action="store_true", help="print JSON")
    info.set_defaults(func=_info)

    tour = sub.add_parser("tour", help="a short demonstration on generated data")
    tour.add_argument("--size", type=int, default=4 << 20, metavar="BYTES", help="document size (default 4 MiB)")
    tour.add_argument("--versions", type=int, default=5, metavar="N", help="versions in the history (default 5)")
    tour.set_defaults(func=_tour)

    delta_cli.add_parser(sub)
    json_cli.add_parser(sub)
    vector_cli.add_parser(sub)
    return p


def _tour(args: argparse.Namespace) -> int:
    from . import tour

    return tour.run(args.size, args.versions)


def _info(args: argparse.Namespace) -> int:
    from ._wasm import runtime as rt

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


if __name__ == "__main__":
    sys.exit(main())
