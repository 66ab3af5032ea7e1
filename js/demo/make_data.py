"""Writes the demo page's preloaded inputs into js/demo/data/ (generated at
set-up, never committed): two versions of an ontology document (the second
edited, with a few entities that break the schema), the schema, and
embeddings of the entities with their labels.

    python js/demo/make_data.py [OUT_DIR]
"""

from __future__ import annotations

import json
import random
import struct
import sys
from pathlib import Path

from oms_accel.samples import ONTOLOGY_SCHEMA, json_document

#: Embeddings shipped with the page: one per entity label, DIM components.
COUNT, DIM = 2000, 64


def versions() -> tuple[str, str]:
    """Version 1 (valid) and version 2: a label renamed, an entity added,
    and three edits that break the schema."""
    v1 = json_document(40_000, seed=5)
    doc = json.loads(v1)
    entities = doc["entities"]
    entities[1]["label"] = "Person archived draft"
    entities[2]["rank"] = 1.5  # over the maximum
    del entities[3]["label"]  # required
    entities[4]["id"] = "entity-4"  # breaks the pattern
    entities.append(dict(entities[0], id=f"urn:oms:entity:{len(entities) + 100}"))
    # Laid out as json_document lays out version 1: an entity per line.
    head = json.dumps({"ontology": doc["ontology"], "version": 2})[:-1]
    return v1, head + ', "entities": [\n' + ",\n".join(map(json.dumps, entities)) + "\n]}"


def embeddings() -> tuple[bytes, list[str]]:
    """COUNT unit-ish vectors around 20 topics (so that a search finds
    neighbours), little-endian f32 rows, and a label for each."""
    rng = random.Random(7)
    topics = [[rng.gauss(0, 1) for _ in range(DIM)] for _ in range(20)]
    words = "class property label domain range subClassOf Person Organization Document Version Schema".split()
    rows: list[float] = []
    labels = []
    for i in range(COUNT):
        t = rng.randrange(len(topics))
        rows.extend(x + rng.gauss(0, 0.6) for x in topics[t])
        labels.append(f"{words[t % len(words)]} {i} (topic {t})")
    return struct.pack(f"<{len(rows)}f", *rows), labels


def main() -> None:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent / "data"
    out.mkdir(parents=True, exist_ok=True)
    v1, v2 = versions()
    vectors, labels = embeddings()
    (out / "v1.json").write_text(v1)
    (out / "v2.json").write_text(v2)
    (out / "schema.json").write_text(json.dumps(ONTOLOGY_SCHEMA, indent=1))
    (out / "embeddings.f32").write_bytes(vectors)
    (out / "labels.json").write_text(json.dumps({"dimension": DIM, "labels": labels}))
    print(f"{out}: two versions ({len(v1)} and {len(v2)} bytes), the schema, {COUNT} embeddings of {DIM}")


if __name__ == "__main__":
    main()
