"""The embedding cache returns what the embedder would, computes each text once and stays bounded."""

from __future__ import annotations

import numpy as np
from winloss.pipeline.embed import CachedEmbedder, MiniLMEmbedder, build_embedder
from winloss.pipeline.settings import EmbeddingSettings


class Counting:
    name, dimensions = "counting", 2

    def __init__(self):
        self.seen: list[str] = []

    def embed(self, texts: list[str]) -> np.ndarray:
        self.seen += texts
        return np.array([[len(t), i] for i, t in enumerate(texts)], dtype=np.float32)


def test_each_text_is_embedded_once_and_the_cache_is_bounded():
    inner = Counting()
    cache = CachedEmbedder(inner, size=3)
    first = cache.embed(["a", "bb", "a"])
    assert inner.seen == ["a", "bb"]  # duplicates within a call are embedded once
    assert (first[0] == first[2]).all() and first[1][0] == 2
    again = cache.embed(["bb", "ccc", "dddd"])
    assert inner.seen == ["a", "bb", "ccc", "dddd"] and (again[0] == first[1]).all()
    cache.embed(["a"])  # "a" was the least recently used and has been evicted
    assert inner.seen[-1] == "a" and len(cache._vectors) == 3
    assert cache.embed([]).shape == (0, 2)


def test_cached_vectors_are_minilms_own():
    cached = build_embedder(EmbeddingSettings())
    assert isinstance(cached, CachedEmbedder) and cached.name == MiniLMEmbedder.name
    texts = ["We already use Quotient.", "It is too expensive for us this year."]
    warm = cached.embed(texts[:1])
    both = cached.embed(texts)
    np.testing.assert_array_equal(both[0], warm[0])
    np.testing.assert_allclose(both, MiniLMEmbedder().embed(texts), atol=1e-5)
    assert not isinstance(build_embedder(EmbeddingSettings(cache_size=0)), CachedEmbedder)
