"""The module path of earlier releases: `oms_accel.json` is the home now."""

from .json import Document, JsonProcessor, NdjsonRecord, RustJsonProcessor, Schema, ValidationError

__all__ = ["Document", "JsonProcessor", "NdjsonRecord", "RustJsonProcessor", "Schema", "ValidationError"]
