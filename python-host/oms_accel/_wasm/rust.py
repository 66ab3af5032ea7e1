"""The Rust host of the component: the same ``oms_accel.wasm`` run by the
``wasmtime`` crate inside the native module (``host-native/src/component``).

Calls are typed (``bindgen!`` from ``wit/``) and release the GIL; bytes,
f32 rows and JSON text go into guest memory straight from the caller's
buffer, and results come back as ``bytes`` or ``str``: no scratch files
except for file operations, which read the caller's files in place through
read-only preopens and write into a private scratch directory.

- One `_native.WasmRuntime` (Engine, compiled component, epoch ticker, WASI
  runtime) per process; a forked child builds its own on first use, and
  objects made before the fork refuse to be used there.
- One instance per thread and memory limit (linear memory never shrinks, so
  an instance that has grown cannot honour a lower limit); a fresh one after
  a trap. Each vector shard has an instance of its own.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from .. import _native
from ..errors import AccelError, DeltaError
from ..limits import Limits
from ..vector._format import DType, Metric, record_len
from . import component as comp
from .host import Buffer, DecodeOptions, DocumentHandle, EncodeOptions, ParseOptions, Progress, SchemaHandle, Text, is_text

#: Records per call when streaming NDJSON.
NDJSON_BATCH = 512
#: The most bytes of index records one call into or out of a vector shard
#: carries. Linear memory never shrinks, so what crosses stays beside the
#: rows as free space: 200k x 384 f32 on two shards (147 MiB of rows each)
#: held 177 MiB after `to_bytes` with 1 MiB parts, 191 with 16 MiB ones,
#: and loaded into 176 against 179, in the same time (0.9-1.1 s, 0.5 s).
RECORD_PART_BYTES = 1 << 20


class _Runtime:
    """The process's WasmRuntime, loaded through the compiled cache; a
    second one, compiled without epoch checks, for calls without a time
    limit (``Limits(timeout_s=None)``), made on first use."""

    def __init__(self) -> None:
        self.wasm_sha256 = ""
        self.native, self.cache_path = self._load(timed=True)
        self._untimed: _native.WasmRuntime | None = None
        self._untimed_lock = threading.Lock()
        self._local = threading.local()

    def _load(self, timed: bool) -> tuple[_native.WasmRuntime, Path | None]:
        # The component is read and checked again for the untimed runtime,
        # rather than its bytes (6.7 MB) kept for the life of the process;
        # both runtimes must run the same component.
        wasm, sha256 = comp.verified_component()
        if self.wasm_sha256 and sha256 != self.wasm_sha256:
            raise AccelError(
                f"the component changed on disk since this process loaded it (sha256 {sha256}, not {self.wasm_sha256}): "
                "start the process again",
                "unavailable",
            )
        self.wasm_sha256 = sha256
        settings = _native.WASM_ENGINE_SETTINGS if timed else _native.WASM_ENGINE_SETTINGS_UNTIMED
        key = f"rust={_native.__version__};{settings}"
        perfmap = comp.perfmap()
        return comp.load_cached(
            "rust" if timed else "rust, no time limit",
            comp.cache_file(sha256, key),
            lambda path: _native.WasmRuntime.load_compiled(path, timed, perfmap),
            lambda: _native.WasmRuntime.compile(wasm, timed, perfmap),
            lambda rt: rt.serialize(),
            (AccelError,),
        )

    def runtime_for(self, limits: Limits) -> _native.WasmRuntime:
        """The runtime whose code keeps `limits`' time limit, or has none."""
        if limits.timeout_s is not None:
            return self.native
        with self._untimed_lock:
            if self._untimed is None:
                self._untimed = self._load(timed=False)[0]
            return self._untimed

    def instance(self, limits: Limits, preopens: Sequence[tuple[str, str, bool]] = ()) -> _native.WasmInstance:
        rt = self.runtime_for(limits)
        return _native.WasmInstance(rt, limits.memory_bytes, limits.timeout_s, list(preopens))

    def thread_instance(self, limits: Limits) -> _native.WasmInstance:
        """This thread's instance for `limits.memory_bytes` and whether it has
        a time limit (a new one after a trap, or once it holds
        `MAX_RESOURCES`)."""
        instances: dict[tuple[int, bool], _native.WasmInstance] | None = getattr(self._local, "instances", None)
        if instances is None:
            instances = self._local.instances = {}
        key = (limits.memory_bytes, limits.timeout_s is not None)
        inst = instances.get(key)
        if inst is None or not inst.alive or inst.resources >= comp.MAX_RESOURCES:
            inst = instances[key] = self.instance(limits)
        if inst.timeout_s != limits.timeout_s:
            inst.timeout_s = limits.timeout_s
        return inst


_runtime: _Runtime | None = None
_runtime_error: str | None = None
_lock = threading.Lock()


def _after_fork_in_child() -> None:
    # The parent's engine threads are gone: the child builds its own runtime.
    global _runtime, _runtime_error, _lock
    _runtime, _runtime_error, _lock = None, None, threading.Lock()


os.register_at_fork(after_in_child=_after_fork_in_child)


def get_runtime() -> _Runtime:
    global _runtime, _runtime_error
    if _runtime is not None:
        return _runtime
    with _lock:
        if _runtime is None:
            if _runtime_error is not None:
                raise AccelError(_runtime_error, "unavailable")
            try:
                _runtime = _Runtime()
            except AccelError as e:
                _runtime_error = str(e)
                raise
    return _runtime


def unavailable_reason() -> str | None:
    """None when this host runs the component here, else why it does not."""
    try:
        get_runtime()
    except AccelError as e:
        return str(e)
    return None


# --- handles ---------------------------------------------------------------------


class _Document:
    __slots__ = ("inst", "res")

    def __init__(self, inst: _native.WasmInstance, res: _native.WasmResource) -> None:
        self.inst = inst
        self.res = res

    def get(self, pointer: str) -> str | None:
        return _native.wasm_document_get(self.res, pointer)

    def kind(self, pointer: str) -> str | None:
        return _native.wasm_document_kind(self.res, pointer)

    def length(self, pointer: str) -> int | None:
        return _native.wasm_document_length(self.res, pointer)

    def keys(self, pointer: str) -> list[str] | None:
        return _native.wasm_document_keys(self.res, pointer)

    def to_text(self, pretty: bool) -> str:
        return _native.wasm_document_to_text(self.res, pretty)


def _parse(inst: _native.WasmInstance, text: Text, options: ParseOptions) -> _Document:
    return _Document(inst, _native.wasm_json_parse(inst, text, options.max_depth, options.max_size))


def _compile(
    inst: _native.WasmInstance, text: str, draft: str | None, resources: Sequence[tuple[str, str]], options: ParseOptions
) -> _native.WasmResource:
    return _native.wasm_schema_compile(inst, text, draft, list(resources), options.max_depth, options.max_size)


class _Schema:
    def __init__(self, inst: _native.WasmInstance, res: _native.WasmResource, options: ParseOptions) -> None:
        self.inst = inst
        self.res = res
        self.options = options

    def _doc(self, doc: DocumentHandle | Text) -> _native.WasmResource:
        """`doc` as a handle in this schema's instance (parsed there if need be)."""
        if isinstance(doc, _Document) and doc.inst is self.inst:
            return doc.res
        text = doc if is_text(doc) else doc.to_text(False)  # type: ignore[union-attr]
        return _parse(self.inst, text, self.options).res  # type: ignore[arg-type]

    def validate(self, doc: DocumentHandle | Text) -> list[tuple[str, str, str]]:
        if is_text(doc):  # one call: parsed, validated and freed in the guest
            return _native.wasm_schema_validate_text(self.res, doc, *self.options)  # type: ignore[arg-type]
        return _native.wasm_schema_validate(self.res, self._doc(doc))

    def is_valid(self, doc: DocumentHandle | Text) -> bool:
        if is_text(doc):  # one call, as validate
            return _native.wasm_schema_is_valid_text(self.res, doc, *self.options)  # type: ignore[arg-type]
        return _native.wasm_schema_is_valid(self.res, self._doc(doc))

    @property
    def alive(self) -> bool:
        return self.res.alive


class _Shard:
    """A vector index in an instance of its own (its memory is the shard's),
    whose records are `record` bytes each."""

    def __init__(self, inst: _native.WasmInstance, res: _native.WasmResource, record: int) -> None:
        self.inst = inst
        self.res = res
        self.record = record
        self.per_part = max(1, RECORD_PART_BYTES // record)

    def add(self, vectors: Buffer, ids: Buffer) -> None:
        _native.wasm_index_add(self.res, vectors, ids)

    def truncate(self, n: int) -> None:
        _native.wasm_index_truncate(self.res, n)

    def check_room(self, batch: int, need: int) -> None:
        _native.wasm_index_check_room(self.res, batch, need)

    def search(self, queries: Buffer, k: int) -> bytes:
        return _native.wasm_index_search(self.res, queries, k)

    def records(self) -> list[bytes]:
        parts: list[bytes] = []
        while True:
            part = _native.wasm_index_records(self.res, len(parts) * self.per_part, self.per_part)
            if part:
                parts.append(part)
            if len(part) < self.per_part * self.record:
                return parts

    def add_records(self, records: Buffer) -> None:
        """Appends `records` a part at a time (a refused part leaves those
        before it: the shard is being loaded, and is dropped on failure)."""
        view = memoryview(records)
        size = self.per_part * self.record
        for start in range(0, len(view), size):
            _native.wasm_index_add_records(self.res, view[start : start + size])

    def close(self) -> None:
        self.inst.close()


def _steps(step: Any, progress: Progress | None) -> None:
    """Runs a file operation's steps to the end, reporting progress between them."""
    while True:
        done, total, finished = step()
        if progress:
            progress(done, total)
        if finished:
            return


# --- the host ----------------------------------------------------------------------


class RustHost:
    """The component run by wasmtime inside the native module (the fast host)."""

    name = "rust"

    def __init__(self) -> None:
        get_runtime()  # raises AccelError("unavailable") here, not on the first call

    def _instance(self, limits: Limits) -> _native.WasmInstance:
        return get_runtime().thread_instance(limits)

    # --- delta ---

    def delta_encode(self, limits: Limits, old: Buffer, new: Buffer, options: EncodeOptions) -> bytes:
        return _native.wasm_delta_encode(self._instance(limits), old, new, *options)

    def delta_decode(self, limits: Limits, old: Buffer, delta: Buffer, options: DecodeOptions) -> bytes:
        return _native.wasm_delta_decode(self._instance(limits), old, delta, *options)

    def delta_encode_file(
        self, limits: Limits, old_path: str, new_path: str, out_path: str, options: EncodeOptions, progress: Progress | None
    ) -> int:
        return self._file_op(limits, [old_path, new_path], out_path, progress, _native.wasm_file_encoder_open, *options)

    def delta_decode_file(
        self, limits: Limits, old_path: str, delta_path: str, out_path: str, options: DecodeOptions, progress: Progress | None
    ) -> int:
        return self._file_op(limits, [old_path, delta_path], out_path, progress, _native.wasm_file_decoder_open, *options)

    def _file_op(self, limits: Limits, inputs: list[str], out_path: str, progress: Progress | None, open: Any, *extra: Any) -> int:
        """A file operation one window per call (each call gets the whole time
        limit); the inputs read in place, the output written to a scratch
        directory and moved to `out_path` only when complete."""
        from .._files import move_into_place

        dirs, guest = comp.input_dirs(inputs)
        with comp.scratch_dir() as scratch:
            preopens = [(d, f"/in{i}", False) for i, d in enumerate(dirs)] + [(scratch, comp.GUEST_SCRATCH, True)]
            inst = get_runtime().instance(limits, preopens)
            try:
                op = open(inst, *guest, f"{comp.GUEST_SCRATCH}/out", *extra)
                _steps(lambda: _native.wasm_file_step(op), progress)
            finally:
                inst.close()  # frees the store: the guest's files are closed before the move
            out = os.path.join(scratch, "out")
            size = os.path.getsize(out)
            move_into_place(out, out_path, DeltaError)
            return size

    # --- json ---

    def json_parse(self, limits: Limits, text: Text, options: ParseOptions) -> DocumentHandle:
        return _parse(self._instance(limits), text, options)

    def json_compile(
        self, limits: Limits, text: str, draft: str | None, resources: Sequence[tuple[str, str]], options: ParseOptions
    ) -> SchemaHandle:
        inst = self._instance(limits)
        return _Schema(inst, _compile(inst, text, draft, resources, options), options)

    def json_validate_alone(
        self, limits: Limits, schema: tuple[str, str | None, Sequence[tuple[str, str]]], text: Text, options: ParseOptions
    ) -> list[tuple[str, str, str]]:
        inst = get_runtime().instance(limits)
        try:
            return _native.wasm_schema_validate_text(_compile(inst, *schema, options), text, *options)
        finally:
            inst.close()

    def json_diff(self, limits: Limits, a: Text, b: Text, options: ParseOptions) -> str:
        return _native.wasm_json_binary(self._instance(limits), "diff", a, b, *options)

    def json_apply_patch(self, limits: Limits, doc: Text, patch: Text, options: ParseOptions) -> str:
        return _native.wasm_json_binary(self._instance(limits), "apply-patch", doc, patch, *options)

    def json_merge_patch(self, limits: Limits, doc: Text, patch: Text, options: ParseOptions) -> str:
        return _native.wasm_json_binary(self._instance(limits), "merge-patch", doc, patch, *options)

    def json_canonicalize(self, limits: Limits, doc: Text, options: ParseOptions) -> str:
        return _native.wasm_json_canonicalize(self._instance(limits), doc, *options)

    def json_ndjson(
        self,
        limits: Limits,
        path: str,
        schema: tuple[str, str | None, Sequence[tuple[str, str]]] | None,
        fields: Sequence[str],
        options: ParseOptions,
    ) -> Iterator[tuple[str, int]]:
        dirs, guest = comp.input_dirs([path])
        # The reader runs in an instance that can see the file's directory;
        # handles are per instance, so the schema is compiled there too.
        inst = get_runtime().instance(limits, [(dirs[0], "/in0", False)])
        try:
            schema_res = None if schema is None else _compile(inst, *schema, options)
            reader = _native.wasm_ndjson_open(inst, guest[0], schema_res, list(fields), *options)
            while True:
                results, _records, done, finished = _native.wasm_ndjson_next(reader, NDJSON_BATCH)
                yield results, done
                if finished:
                    break
        finally:
            inst.close()

    # --- vector ---

    def vector_shard(self, limits: Limits, dim: int, metric: Metric, dtype: DType) -> _Shard:
        inst = get_runtime().instance(limits)
        try:
            return _Shard(inst, _native.wasm_index_create(inst, dim, metric, dtype), record_len(dim, dtype))
        except BaseException:
            inst.close()
            raise

    def vector_load(self, limits: Limits, dim: int, metric: Metric, dtype: DType, records: Buffer) -> _Shard:
        shard = self.vector_shard(limits, dim, metric, dtype)
        try:
            shard.add_records(records)
        except BaseException:
            shard.close()
            raise
        return shard

    def vector_similarity(self, limits: Limits, a: Buffer, b: Buffer, dim: int, metric: str) -> bytes:
        return _native.wasm_similarity(self._instance(limits), a, b, dim, metric)
