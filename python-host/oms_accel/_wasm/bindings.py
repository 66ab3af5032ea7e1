"""The wasmtime-py host of the component: the one module that names the WIT
exports of ``wit/accel.wit``, builds their records, owns resource handles and
scratch files, and maps WIT errors to exceptions (by code, never by message).

On this host a ``list<u8>`` crosses one element at a time, so bulk bytes
cross as files in each instance's private scratch directory (tmpfs), small
vector batches as hex in a ``string``, and JSON text as a ``string``.
Scratch files live no longer than the call that wrote them.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import weakref
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from ..errors import AccelError, DeltaError, JsonError, VectorError, from_code
from ..limits import Limits
from ..vector import _format as vfmt
from ..vector._format import DType, Metric
from . import runtime as rt
from .host import Buffer, DecodeOptions, DocumentHandle, EncodeOptions, ParseOptions, Progress, SchemaHandle, Text, as_str, is_text

PACKAGE = "oms:accel"
VERSION = "0.2.0"
DELTA = f"{PACKAGE}/delta@{VERSION}"
JSON = f"{PACKAGE}/json@{VERSION}"
VECTOR = f"{PACKAGE}/vector@{VERSION}"
INSTANCE = f"{PACKAGE}/instance@{VERSION}"
_DRAFTS = {"4": "draft4", "6": "draft6", "7": "draft7", "2019-09": "draft201909", "2020-12": "draft202012"}
#: Records per call when streaming NDJSON.
NDJSON_BATCH = 512
#: Queries up to this many bytes cross as a hex string (a string crosses in
#: microseconds; a file costs the guest a few WASI calls, ~0.2 ms), larger
#: batches through the scratch directory.
HEX_LIMIT = 4 << 20
#: Below this, a second thread costs more than it saves when writing inputs.
PARALLEL_WRITE_MIN = 1 << 20
#: A text result of at most this many bytes comes back as a string, a
#: larger one through a scratch file (the WIT's `*-or-file` calls, which
#: write it only then): a string past `rt.HOSTCALL_FUEL` traps, and loses
#: the instance. Below this a string is faster (33 MiB: 148 ms against 189).
INLINE_MAX = 32 << 20
#: The most bytes a string result may have for wasmtime-py to take it back
#: (`rt.HOSTCALL_FUEL`, less room for the call's own copies). A call whose
#: result is certainly smaller returns a string: an `*-or-file` call costs
#: wasmtime-py 25-40 us more (its two more arguments), 82 -> 122 us for
#: the text of a 19 KB document.
STRING_MOST = 120 << 20
#: Bounds on a text result's bytes per character of its text input: a
#: value's text is a slice of its document's (UTF-8: at most 4 bytes a
#: character); written again, a number's literal takes up to 4.5x its
#: characters (serde_json: `9e15` is 16 digits and `.0`) or 5.25x (RFC
#: 8785: `1e20` is 21 digits), and pretty printing adds a line break and
#: its indentation, 2 spaces a level, at most once a character. A diff has
#: at most one operation a value, each a path (at most 4 bytes a character,
#: escaped) and a value: it can grow with the square of its input. An
#: applied patch has no bound at all (each `copy` can double the document).
SLICE, REWRITTEN = 4, 6
#: Documents of at least this many characters are validated by the
#: `*-or-file` calls, whose violations past `INLINE_MAX` come back in a
#: file: no bound on them holds for every schema (a message repeats the
#: value it names, a value can fail many keywords, and 2M failing numbers,
#: 16 MB of text, made 150 MB of violations). Smaller documents keep the
#: plain call: the twin took 160 us for a 4 KB document, against 106.
VIOLATIONS_OR_FILE_FROM = 1 << 20


# --- calls and results -----------------------------------------------------------


class _Export:
    """One exported function of one instance, with how its result lifts."""

    __slots__ = ("err_classes", "func", "tagged")

    def __init__(self, inst: rt.Instance, interface: str, name: str) -> None:
        import wasmtime.component as wc

        self.func = inst.func(interface, name)
        result = self.func.type(inst.store).result
        # wasmtime-py lifts a `result` as a tagged Variant when its ok and err
        # types could be confused, else as the bare payload: then the error
        # is the payload of the err type's classes (as wasmtime-py decides).
        self.tagged = False
        self.err_classes: tuple[type, ...] = ()
        if isinstance(result, wc.ResultType):
            self.tagged = result._tagged()
            if not self.tagged and result.err is not None:
                classes: set[type] = set()
                result.err.add_classes(classes)
                self.err_classes = tuple(classes)


def _export(inst: rt.Instance, interface: str, name: str) -> _Export:
    """The export, looked up once per instance."""
    e: _Export | None = inst.lookups.get((interface, name))
    if e is None:
        e = inst.lookups[(interface, name)] = _Export(inst, interface, name)
    return e


def _call(inst: rt.Instance, interface: str, name: str, args: Sequence[Any], capability: type[AccelError]) -> Any:
    """Calls an export; a WIT ``error`` result is raised as its exception."""
    export = _export(inst, interface, name)
    result = inst.call(export.func, args, capability)
    if export.tagged:
        if result.tag == "err":
            raise _exception(result.payload, capability)
        return result.payload
    if export.err_classes and isinstance(result, export.err_classes):
        raise _exception(result, capability)
    return result


def _exception(err: Any, capability: type[AccelError]) -> AccelError:
    p = err.position
    position = None if p is None else (int(p.offset), int(p.line), int(p.column))
    return from_code(str(err.code), str(err.message), capability, position)


def _record(**fields: Any) -> Any:
    """A WIT record value: keyword names with ``_`` become kebab-case fields."""
    from wasmtime.component import Record

    r = Record()
    for name, value in fields.items():
        setattr(r, name.replace("_", "-"), value)
    return r


def _field(record: Any, name: str) -> Any:
    return getattr(record, name)


# --- scratch files -----------------------------------------------------------------


def _write(path: str, *data: Buffer) -> None:
    """The file at `path`: `data` one after another."""
    try:
        with open(path, "wb") as f:
            for d in data:
                f.write(d)
    except OSError as e:  # a full scratch filesystem, most likely
        from . import component as comp

        raise AccelError(
            f"cannot write a scratch file in {os.path.dirname(os.path.dirname(path))}: {e.strerror or e} "
            f"(set {comp.ENV_SCRATCH} to a directory with room)",
            "io",
        ) from None


def _write_all(files: Sequence[tuple[str, Buffer]]) -> None:
    """Writes scratch files, two at once when they are large: a write
    releases the GIL, and on tmpfs most of its time is the kernel allocating
    and clearing pages (two 8 MiB files: 4.6 ms this way, 8.1 ms in turn)."""
    if len(files) != 2 or min(len(d) for _, d in files) < PARALLEL_WRITE_MIN:
        for path, data in files:
            _write(path, data)
        return
    failure: list[BaseException] = []

    def second() -> None:
        try:
            _write(*files[1])
        except BaseException as e:  # handed to the caller's thread below
            failure.append(e)

    helper = threading.Thread(target=second, name="oms-accel-write")
    helper.start()
    try:
        _write(*files[0])
    finally:
        helper.join()
    if failure:
        raise failure[0]


@contextlib.contextmanager
def _scratch(inst: rt.Instance, *names: str) -> Iterator[list[str]]:
    """Host paths of scratch files for one call, removed when it ends."""
    rt.mark_file_io()
    paths = [inst.scratch_path(n) for n in names]
    try:
        yield paths
    finally:
        for p in paths:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(p)
            with contextlib.suppress(FileNotFoundError):
                os.unlink(p + ".part")


def _string_fits(chars: int, per_char: int) -> bool:
    """Whether a result of at most `per_char` bytes a character of its
    `chars` characters of input comes back as a string (`STRING_MOST`)."""
    return chars * per_char <= STRING_MOST


def _text_or_file(inst: rt.Instance, call: Callable[[int, str], Any]) -> str | None:
    """The text of an `*-or-file` call: `call` gets the most bytes that may
    come back in the call, and the guest path for the text past that (the
    call then returns "", which no JSON text is). None for none."""
    with _scratch(inst, "text.json") as (path,):
        found = call(INLINE_MAX, _guest("text.json"))
        if found is None:
            return None
        return str(found) or _read(path).decode("utf-8")


def _read(path: str, offset: int = 0) -> bytes:
    """The file at `path` from `offset` on."""
    with open(path, "rb") as f:
        f.seek(offset)
        return f.read()


def _guest(name: str) -> str:
    return f"/scratch/{name}"


# --- handles ---------------------------------------------------------------------------


class _Handle:
    """A resource handle in an instance, dropped there when its owner goes."""

    def __init__(self, inst: rt.Instance, handle: Any) -> None:
        self.inst = inst
        self.handle = handle
        with inst.lock:
            inst.handles += 1
        self._finalizer = weakref.finalize(self, _drop, inst, handle)

    @property
    def alive(self) -> bool:
        """Whether the instance can still take calls on this handle."""
        try:
            self.inst.check_alive()
        except AccelError:
            return False
        return True

    def close(self) -> None:
        self._finalizer()


def _drop(inst: rt.Instance, handle: Any) -> None:
    with contextlib.suppress(Exception):  # at interpreter exit, or the instance just died
        inst.drop(handle, owned=True)
        _recycle_if_outgrown(inst)


#: Linear memory never shrinks: an instance holding no resource that grew
#: past this is closed after its operation, and the thread's next call gets
#: a fresh one (the Rust host's rule too).
RECYCLE_BYTES = 64 << 20


def _recycle_if_outgrown(inst: rt.Instance) -> None:
    if inst.take_grown() and int(_call(inst, INSTANCE, "memory-bytes", [], AccelError)) > RECYCLE_BYTES:
        inst.close()


class _Document(_Handle):
    """A parsed document, from text of `size` characters nested at most
    `depth` levels deep."""

    def __init__(self, inst: rt.Instance, handle: Any, size: int, depth: int) -> None:
        super().__init__(inst, handle)
        self.size = size
        self.depth = depth

    def _call(self, method: str, *args: Any) -> Any:
        return _call(self.inst, JSON, f"[method]document.{method}", [self.handle, *args], JsonError)

    def get(self, pointer: str) -> str | None:
        if _string_fits(self.size, SLICE):
            text = self._call("get", pointer)
            return None if text is None else str(text)
        return _text_or_file(self.inst, lambda most, out: self._call("get-or-file", pointer, most, out))

    def kind(self, pointer: str) -> str | None:
        k = self._call("kind", pointer)
        return None if k is None else str(k)

    def length(self, pointer: str) -> int | None:
        n = self._call("length", pointer)
        return None if n is None else int(n)

    def keys(self, pointer: str) -> list[str] | None:
        if _string_fits(self.size, SLICE + 8):  # the names, and a list entry each
            k = self._call("keys", pointer)
            return None if k is None else [str(x) for x in k]
        text = _text_or_file(self.inst, lambda most, out: self._call("keys-or-file", pointer, most, out))
        return None if text is None else [str(x) for x in json.loads(text)]

    def to_text(self, pretty: bool) -> str:
        if _string_fits(self.size, REWRITTEN + (1 + 2 * self.depth if pretty else 0)):
            return str(self._call("to-text", pretty))
        text = _text_or_file(self.inst, lambda most, out: self._call("to-text-or-file", pretty, most, out))
        assert text is not None  # a document always has text
        return text


def _parse(inst: rt.Instance, text: str, options: ParseOptions) -> _Document:
    from ..json import DEFAULT_MAX_DEPTH  # the component's too (0 in parse-options)

    handle = _call(inst, JSON, "[static]document.parse", [text, _parse_options(options)], JsonError)
    return _Document(inst, handle, len(text), options.max_depth or DEFAULT_MAX_DEPTH)


def _parse_options(o: ParseOptions) -> Any:
    return _record(max_depth=o.max_depth, max_size=o.max_size)


class _Schema(_Handle):
    def __init__(self, inst: rt.Instance, handle: Any, options: ParseOptions) -> None:
        super().__init__(inst, handle)
        self.options = options

    def _doc(self, doc: DocumentHandle | Text) -> _Document:
        """`doc` as a handle in this schema's instance (parsed there if need be)."""
        if isinstance(doc, _Document) and doc.inst is self.inst:
            return doc
        return _parse(self.inst, as_str(doc) if is_text(doc) else doc.to_text(False), self.options)  # type: ignore[arg-type, union-attr]

    def validate(self, doc: DocumentHandle | Text) -> list[tuple[str, str, str]]:
        if is_text(doc):  # one call: parsed, validated and freed in the guest
            text = as_str(doc)  # type: ignore[arg-type]
            name, args, size = "validate-text", [self.handle, text, _parse_options(self.options)], len(text)
        else:
            d = self._doc(doc)
            name, args, size = "validate", [self.handle, d.handle], d.size
        if size < VIOLATIONS_OR_FILE_FROM:
            found = _call(self.inst, JSON, f"[method]schema.{name}", args, JsonError)
        else:
            with _scratch(self.inst, "violations.json") as (path,):
                found = _call(self.inst, JSON, f"[method]schema.{name}-or-file", [*args, INLINE_MAX, _guest("violations.json")], JsonError)
                if found is None:
                    return [(a, b, c) for a, b, c in json.loads(_read(path))]
        return [(str(_field(v, "instance-path")), str(_field(v, "schema-path")), str(v.message)) for v in found]

    def is_valid(self, doc: DocumentHandle | Text) -> bool:
        if is_text(doc):  # one call, as validate
            args = [self.handle, as_str(doc), _parse_options(self.options)]  # type: ignore[arg-type]
            return bool(_call(self.inst, JSON, "[method]schema.is-valid-text", args, JsonError))
        d = self._doc(doc)
        return bool(_call(self.inst, JSON, "[method]schema.is-valid", [self.handle, d.handle], JsonError))


def _compile(inst: rt.Instance, text: str, draft: str | None, resources: Sequence[tuple[str, str]], options: ParseOptions) -> Any:
    args = [text, None if draft is None else _DRAFTS[draft], list(resources), _parse_options(options)]
    return _call(inst, JSON, "[static]schema.compile", args, JsonError)


class _Shard:
    """A vector index in an instance of its own (its memory is the shard's)."""

    def __init__(self, inst: rt.Instance, handle: Any) -> None:
        self.inst = inst
        self.handle = handle

    def _call(self, method: str, *args: Any) -> Any:
        return _call(self.inst, VECTOR, f"[method]index.{method}", [self.handle, *args], VectorError)

    def add(self, vectors: Buffer, ids: Buffer) -> None:
        with _scratch(self.inst, "add.f32", "add.ids") as (v, i):
            _write_all([(v, vectors), (i, ids)])
            self._call("add-file", _guest("add.f32"), _guest("add.ids"))

    def truncate(self, n: int) -> None:
        self._call("truncate", n)

    def check_room(self, batch: int, need: int) -> None:
        # Nothing to ask: this host cannot see the component's memory, and
        # none of it is at risk. Arguments cross as files, which the guest
        # reads into memory it asks for (an error, not a trap, when refused),
        # and memory a refused part took is reused by the next add.
        pass

    def search(self, queries: Buffer, k: int) -> bytes:
        if len(queries) <= HEX_LIMIT:
            return bytes.fromhex(self._call("search-hex", bytes(queries).hex(), k))
        with _scratch(self.inst, "queries.f32", "hits") as (q, hits):
            _write(q, queries)
            self._call("search-file", _guest("queries.f32"), k, _guest("hits"))
            return _read(hits)

    def records(self) -> list[bytes]:
        # The guest writes the file a block of records at a time.
        with _scratch(self.inst, "index") as (path,):
            self._call("save", _guest("index"))
            return [_read(path, vfmt.HEADER.size)]

    def close(self) -> None:
        try:
            self.inst.drop(self.handle)
        finally:
            self.inst.close()


# --- the host ----------------------------------------------------------------------------


class WasmtimePyHost:
    """The component run by wasmtime-py (the portable host)."""

    name = "wasmtime-py"

    @contextlib.contextmanager
    def _instance(self, limits: Limits) -> Iterator[rt.Instance]:
        """This thread's instance for one operation; replaced after it if it
        grew far past what it still holds."""
        inst = rt.get_runtime().thread_instance(limits)
        try:
            yield inst
        finally:
            with contextlib.suppress(AccelError):  # the operation's own error, if any, is the one to see
                _recycle_if_outgrown(inst)

    # --- delta ---

    def delta_encode(self, limits: Limits, old: Buffer, new: Buffer, options: EncodeOptions) -> bytes:
        with self._instance(limits) as inst, _scratch(inst, "old", "new", "delta") as (o, n, d):
            _write_all([(o, old), (n, new)])
            args = [_guest("old"), _guest("new"), _guest("delta"), _encode_options(options)]
            _call(inst, DELTA, "encode-file", args, DeltaError)
            return _read(d)

    def delta_decode(self, limits: Limits, old: Buffer, delta: Buffer, options: DecodeOptions) -> bytes:
        with self._instance(limits) as inst, _scratch(inst, "old", "delta", "out") as (o, d, out):
            _write_all([(o, old), (d, delta)])
            _call(inst, DELTA, "decode-file", [_guest("old"), _guest("delta"), _guest("out"), *options], DeltaError)
            return _read(out)

    def delta_encode_file(
        self, limits: Limits, old_path: str, new_path: str, out_path: str, options: EncodeOptions, progress: Progress | None
    ) -> int:
        return self._file_op("file-encoder", limits, [old_path, new_path], [_encode_options(options)], out_path, progress)

    def delta_decode_file(
        self, limits: Limits, old_path: str, delta_path: str, out_path: str, options: DecodeOptions, progress: Progress | None
    ) -> int:
        return self._file_op("file-decoder", limits, [old_path, delta_path], list(options), out_path, progress)

    def _file_op(self, resource: str, limits: Limits, inputs: list[str], extra: list[Any], out_path: str, progress: Progress | None) -> int:
        """Runs a file resource one window per call: each call gets the full
        time limit, and progress is reported between windows. The inputs are
        read in place through read-only preopens; the output is written to
        the scratch directory and moved to `out_path` only when complete."""
        from .._files import move_into_place

        with rt.file_instance(limits, inputs) as (inst, guest_paths):
            handle = _call(inst, DELTA, f"[static]{resource}.open", [*guest_paths, _guest("out"), *extra], DeltaError)
            try:
                while True:
                    p = _call(inst, DELTA, f"[method]{resource}.step", [handle], DeltaError)
                    if progress:
                        progress(p.done, p.total)
                    if p.finished:
                        break
            finally:
                inst.drop(handle)
            out = inst.scratch_path("out")
            size = os.path.getsize(out)
            move_into_place(out, out_path, DeltaError)
            return size

    # --- json ---

    def json_parse(self, limits: Limits, text: Text, options: ParseOptions) -> DocumentHandle:
        with self._instance(limits) as inst:
            return _parse(inst, as_str(text), options)

    def json_compile(
        self, limits: Limits, text: str, draft: str | None, resources: Sequence[tuple[str, str]], options: ParseOptions
    ) -> SchemaHandle:
        with self._instance(limits) as inst:
            return _Schema(inst, _compile(inst, text, draft, resources, options), options)

    def json_validate_alone(
        self, limits: Limits, schema: tuple[str, str | None, Sequence[tuple[str, str]]], text: Text, options: ParseOptions
    ) -> list[tuple[str, str, str]]:
        inst = rt.get_runtime().new_instance(limits)
        try:
            return _Schema(inst, _compile(inst, *schema, options), options).validate(text)
        finally:
            inst.close()

    def json_diff(self, limits: Limits, a: Text, b: Text, options: ParseOptions) -> str:
        return self._text_call(limits, "diff", a, b, options)

    def json_apply_patch(self, limits: Limits, doc: Text, patch: Text, options: ParseOptions) -> str:
        return self._text_call(limits, "apply-patch", doc, patch, options)

    def json_merge_patch(self, limits: Limits, doc: Text, patch: Text, options: ParseOptions) -> str:
        return self._text_call(limits, "merge-patch", doc, patch, options)

    def json_canonicalize(self, limits: Limits, doc: Text, options: ParseOptions) -> str:
        return self._text_call(limits, "canonicalize", doc, None, options)

    def _text_call(self, limits: Limits, name: str, a: Text, b: Text | None, options: ParseOptions) -> str:
        """The text `name` returns, through `text-op-or-file` unless it
        certainly fits in a string (`_string_fits`)."""
        first, second = as_str(a), None if b is None else as_str(b)
        opts = _parse_options(options)
        chars = len(first) + len(second or "")
        per_char = {"diff": 10 * chars + 64, "apply-patch": STRING_MOST + 1}.get(name, REWRITTEN)
        with self._instance(limits) as inst:
            if _string_fits(chars, per_char):
                args = [first, opts] if second is None else [first, second, opts]
                return str(_call(inst, JSON, name, args, JsonError))
            text = _text_or_file(
                inst,
                lambda most, out: _call(inst, JSON, "text-op-or-file", [name, first, second or "", opts, most, out], JsonError),
            )
            assert text is not None  # every one of these calls has a result
            return text

    def json_ndjson(
        self,
        limits: Limits,
        path: str,
        schema: tuple[str, str | None, Sequence[tuple[str, str]]] | None,
        fields: Sequence[str],
        options: ParseOptions,
    ) -> Iterator[tuple[str, int]]:
        with rt.file_instance(limits, [path]) as (inst, guest_paths):
            # The reader runs in an instance that can see the file's directory;
            # handles are per instance, so the schema is compiled there too.
            schema_handle = None if schema is None else _compile(inst, *schema, options)
            args = [guest_paths[0], schema_handle, list(fields), _parse_options(options)]
            try:
                reader = _call(inst, JSON, "[static]ndjson-reader.open", args, JsonError)
                try:
                    while True:
                        batch = _call(inst, JSON, "[method]ndjson-reader.next-batch", [reader, NDJSON_BATCH], JsonError)
                        yield str(batch.results), int(_field(batch, "bytes-read"))
                        if batch.finished:
                            break
                finally:
                    inst.drop(reader)
            finally:
                if schema_handle is not None:
                    inst.drop(schema_handle)

    # --- vector ---

    def vector_shard(self, limits: Limits, dim: int, metric: Metric, dtype: DType) -> _Shard:
        inst = rt.get_runtime().new_instance(limits)
        try:
            return _Shard(inst, _call(inst, VECTOR, "[static]index.create", [dim, metric, dtype], VectorError))
        except BaseException:
            inst.close()
            raise

    def vector_load(self, limits: Limits, dim: int, metric: Metric, dtype: DType, records: Buffer) -> _Shard:
        inst = rt.get_runtime().new_instance(limits)
        try:
            # The guest reads the file a block of records at a time.
            with _scratch(inst, "load") as (path,):
                _write(path, vfmt.header(dim, metric, dtype, len(records) // vfmt.record_len(dim, dtype)), records)
                return _Shard(inst, _call(inst, VECTOR, "[static]index.load", [_guest("load")], VectorError))
        except BaseException:
            inst.close()
            raise

    def vector_similarity(self, limits: Limits, a: Buffer, b: Buffer, dim: int, metric: str) -> bytes:
        with self._instance(limits) as inst, _scratch(inst, "a.f32", "b.f32", "sim.f32") as (pa, pb, out):
            _write_all([(pa, a), (pb, b)])
            args = [_guest("a.f32"), _guest("b.f32"), dim, metric, _guest("sim.f32")]
            _call(inst, VECTOR, "similarity-file", args, VectorError)
            return _read(out)


def _encode_options(o: EncodeOptions) -> Any:
    return _record(window_size=o.window_size, source_window_size=o.source_window_size, checksum=o.checksum)
