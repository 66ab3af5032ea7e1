"""Generated document-like data for the tour, the tests and the benchmarks:
JSON text shaped like the monolith's ontology documents, and edited versions
of it (scattered small edits plus a few inserts and deletes)."""

from __future__ import annotations

import json
import random
from typing import Any

_WORDS: list[str] = (
    "class property label domain range subClassOf comment Person Organization "
    "Document Version Schema Embedding identifier created modified owner status "
    "draft published archived relation inverseOf cardinality minimum maximum"
).split()


def _entity(rng: random.Random, i: int) -> dict[str, Any]:
    """One generated ontology entity (the shape ONTOLOGY_SCHEMA describes)."""
    return {
        "id": f"urn:oms:entity:{i}",
        "type": rng.choice(_WORDS),
        "label": " ".join(rng.choices(_WORDS, k=3)),
        "properties": [
            {"name": rng.choice(_WORDS), "range": rng.choice(_WORDS), "min": rng.randint(0, 3)} for _ in range(rng.randint(1, 4))
        ],
        "rank": rng.random(),
        "modified": f"2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
    }


def document(size: int, seed: int = 0) -> bytes:
    """About `size` bytes (exactly, truncated) of pretty-printed ontology JSON."""
    rng = random.Random(seed)
    parts: list[str] = ['{"ontology": "urn:oms:sample", "entities": [\n']
    total = len(parts[0])
    i = 0
    while total < size:
        entity = _entity(rng, i)
        text = json.dumps(entity, indent=2) + ",\n"
        parts.append(text)
        total += len(text)
        i += 1
    return "".join(parts).encode()[:size]


def edit(doc: bytes, fraction: float = 0.01, seed: int = 1, inserts: int = 4, deletes: int = 4) -> bytes:
    """`doc` with about `fraction` of its bytes rewritten in scattered runs of
    1-16 bytes, plus `inserts` inserted and `deletes` deleted blocks."""
    rng = random.Random(seed)
    out = bytearray(doc)
    if not out:
        return bytes(out)
    letters = b"abcdefghijklmnopqrstuvwxyz0123456789"
    budget = int(len(out) * fraction)
    while budget > 0:
        run = min(rng.randint(1, 16), budget)
        at = rng.randrange(max(1, len(out) - run))
        out[at : at + run] = bytes(rng.choice(letters) for _ in range(run))
        budget -= run
    for _ in range(inserts):
        at = rng.randrange(len(out))
        out[at:at] = document(rng.randint(100, 2000), rng.randrange(1 << 30))
    for _ in range(deletes):
        at = rng.randrange(len(out))
        del out[at : at + rng.randint(50, 2000)]
    return bytes(out)


def history(size: int, versions: int, seed: int = 0) -> list[bytes]:
    """`versions` successive versions of a document of about `size` bytes."""
    docs = [document(size, seed)]
    for v in range(1, versions):
        docs.append(edit(docs[-1], 0.005, seed + v))
    return docs


#: A realistic schema for `json_document`: references, enums, patterns,
#: bounds and nested arrays, as an ontology service's would have.
ONTOLOGY_SCHEMA: dict[str, object] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["ontology", "version", "entities"],
    "properties": {
        "ontology": {"type": "string", "pattern": "^urn:oms:"},
        "version": {"type": "integer", "minimum": 1},
        "entities": {"type": "array", "items": {"$ref": "#/$defs/entity"}},
    },
    "$defs": {
        "entity": {
            "type": "object",
            "required": ["id", "type", "label", "properties"],
            "additionalProperties": False,
            "properties": {
                "id": {"type": "string", "pattern": "^urn:oms:entity:[0-9]+$"},
                "type": {"enum": _WORDS},
                "label": {"type": "string", "minLength": 1, "maxLength": 200},
                "properties": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/property"}},
                "rank": {"type": "number", "minimum": 0, "maximum": 1},
                "modified": {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"},
                "embedding": {"type": "array", "items": {"type": "number"}, "maxItems": 64},
            },
        },
        "property": {
            "type": "object",
            "required": ["name", "range"],
            "properties": {
                "name": {"enum": _WORDS},
                "range": {"type": "string"},
                "min": {"type": "integer", "minimum": 0},
            },
        },
    },
}


def json_document(size: int, seed: int = 0) -> str:
    """Valid JSON text of about `size` characters that satisfies ONTOLOGY_SCHEMA."""
    rng = random.Random(seed)
    entities: list[str] = []
    total = 0
    i = 0
    while total < size:
        entity = _entity(rng, i)
        entity["embedding"] = [round(rng.uniform(-1, 1), 4) for _ in range(8)]
        text = json.dumps(entity)
        entities.append(text)
        total += len(text) + 2
        i += 1
    return '{"ontology": "urn:oms:sample", "version": 1, "entities": [\n' + ",\n".join(entities) + "\n]}"
