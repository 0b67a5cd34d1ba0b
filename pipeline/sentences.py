"""Sentences of an utterance: the unit the extractor embeds, and the pieces an utterance's index vector is made of."""

from __future__ import annotations

import re

import numpy as np

from .embed import Embedder

_SENTENCE = re.compile(r"[^.!?]+[.!?]*")


def split_sentences(text: str) -> list[str]:
    """The sentences of `text`, as exact substrings of it (so quotes stay verbatim)."""
    return [s for s in (m.group().strip() for m in _SENTENCE.finditer(text)) if s]


def text_vectors(embedder: Embedder, texts: list[str]) -> np.ndarray:
    """One unit vector per text: the word-weighted mean of its sentences' vectors.

    Analysis has just embedded those sentences (the embedder's cache holds them), so indexing a call costs
    almost no model time; embedding each multi-sentence utterance again as a whole was a fifth of all ingest
    embedding. A one-sentence text gets exactly its sentence's vector.
    """
    parts = [split_sentences(t) or [t] for t in texts]
    flat = [s for p in parts for s in p]
    if not flat:
        return np.zeros((0, embedder.dimensions), dtype=np.float32)
    vectors = embedder.embed(flat)
    weights = np.array([len(s.split()) or 1 for s in flat], dtype=np.float32)
    out, i = np.zeros((len(texts), vectors.shape[1]), dtype=np.float32), 0
    for row, p in enumerate(parts):
        out[row] = (vectors[i: i + len(p)] * weights[i: i + len(p), None]).sum(axis=0)
        i += len(p)
    return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
