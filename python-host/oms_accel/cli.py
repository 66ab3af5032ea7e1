"""The ``oms-accel`` command: ``info``, ``tour``, and one group of
subcommands per capability (``delta``, ``json``, ``vector``), each defined
beside its capability. Exit codes are in `_command`."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

from . import __version__, _batch_cli, _command
from .backends import backend_report, host_report
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
    _batch_cli.add_parser(sub)
    return p


def _tour(args: argparse.Namespace) -> int:
    from . import tour

    return tour.run(args.size, args.versions)


def _info(args: argparse.Namespace) -> int:
    from . import _wasm
    from ._wasm import component, runtime

    report = backend_report()
    hosts = host_report()
    info: dict[str, Any] = {
        "version": __version__,
        "backends": {name: ("available" if why is None else f"unavailable: {why}") for name, why in report.items()},
        "wasm_hosts": {name: ("available" if why is None else f"unavailable: {why}") for name, why in hosts.items()},
        "wasm_host": _wasm.host_name() if report["wasm"] is None else None,
        "wasmtime_py": runtime.wasmtime_version(),
        "component": str(component.component_path()),
        "cache_dir": str(component.cache_dir()),
        "scratch_dir": component.scratch_base(),
        "component_sha256_pinned": component.pinned_sha256(),
    }
    if report["wasm"] is None:
        info["component_sha256"] = component.file_sha256(component.component_path())
        for name, why in hosts.items():
            if why is None:
                loaded = runtime.get_runtime() if name == "wasmtime-py" else _rust_runtime()
                info[f"compiled_cache_file ({name})"] = str(loaded.cache_path) if loaded.cache_path else None
                info[f"component_load ({name})"] = component.LOADS.get(name)
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


def _rust_runtime() -> Any:
    from ._wasm import rust

    return rust.get_runtime()


if __name__ == "__main__":
    sys.exit(main())
