"""Embedders: the cache returns what the embedder would, computes each text once and stays bounded; bf16 and the
worker processes keep MiniLM's vectors; a text's index vector is made from its sentences' vectors."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from winloss.pipeline.analyze import AUTO_PROCESSES_AT, embedding_processes
from winloss.pipeline.extract.sentences import text_vectors
from winloss.pipeline.providers.embed import (
    CachedEmbedder,
    MiniLMEmbedder,
    NumpyMiniLM,
    ProcessEmbedder,
    build_embedder,
)
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
    np.testing.assert_allclose(both, MiniLMEmbedder(precision=EmbeddingSettings().precision).embed(texts), atol=1e-5)
    assert not isinstance(build_embedder(EmbeddingSettings(cache_size=0)), CachedEmbedder)


TEXTS = ["We already use Quotient.", "It is too expensive for us this year.", "ok",
         "Our forecast accuracy is within five percent, and onboarding takes two weeks with a named engineer."]


def test_bf16_keeps_the_fp32_vectors():
    fp32 = MiniLMEmbedder(precision="fp32").embed(TEXTS)
    bf16 = MiniLMEmbedder(precision="bf16").embed(TEXTS)
    assert np.allclose(np.linalg.norm(bf16, axis=1), 1.0, atol=1e-5)
    assert (fp32 * bf16).sum(axis=1).min() > 0.999  # cosine: the matrix products round, nothing else does


def test_worker_processes_embed_what_the_process_itself_would():
    settings = EmbeddingSettings(cache_size=0)
    pooled = build_embedder(settings, processes=2)
    assert isinstance(pooled, ProcessEmbedder)
    try:
        with ThreadPoolExecutor(2) as threads:  # two calls at once, as the flow's workers send them
            a, b = threads.map(pooled.embed, [TEXTS, TEXTS[::-1]])
    finally:
        pooled.close()
    here = MiniLMEmbedder(settings.batch_size, settings.precision).embed(TEXTS)
    assert (a * here).sum(axis=1).min() > 0.9999 and (b[::-1] * here).sum(axis=1).min() > 0.9999
    assert pooled.embed([]).shape == (0, 384)


def test_a_dead_worker_is_replaced_and_the_run_goes_on():
    pooled = ProcessEmbedder(32, "auto", processes=1)
    try:
        first = pooled.embed(TEXTS[:1])
        for pid in list(pooled._pool._processes):  # the worker is killed, as the OOM killer would
            os.kill(pid, signal.SIGKILL)
        np.testing.assert_allclose(pooled.embed(TEXTS[:1]), first, atol=1e-6)
    finally:
        pooled.close()


def test_a_text_vector_is_the_word_weighted_mean_of_its_sentences():
    inner = Counting()
    cache = CachedEmbedder(inner, size=10)
    cache.embed(["Too pricey.", "We use Quotient today."])  # what extraction embedded
    vectors = text_vectors(cache, ["Too pricey. We use Quotient today.", "Too pricey."])
    assert inner.seen == ["Too pricey.", "We use Quotient today."]  # nothing embedded again
    a, b = Counting().embed(["Too pricey.", "We use Quotient today."])
    mean = 2 * a + 4 * b
    np.testing.assert_allclose(vectors[0], mean / np.linalg.norm(mean), rtol=1e-6)
    np.testing.assert_allclose(vectors[1], a / np.linalg.norm(a), rtol=1e-6)


def test_worker_processes_start_only_for_runs_of_many_transcripts(monkeypatch):
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    assert embedding_processes("auto", transcripts=1000) == 2
    assert embedding_processes("auto", transcripts=AUTO_PROCESSES_AT - 1) == 0  # the start would not pay off
    assert embedding_processes(0, transcripts=1000) == 0 and embedding_processes(3, transcripts=1) == 3
    monkeypatch.setattr("os.cpu_count", lambda: 1)
    assert embedding_processes("auto", transcripts=1000) == 0


def test_closing_the_cache_stops_the_workers_behind_it():
    """The default config puts the cache in front of the workers; the flow's Engines.close must reach them."""
    cached = build_embedder(EmbeddingSettings(), processes=1)
    assert isinstance(cached, CachedEmbedder) and isinstance(cached.inner, ProcessEmbedder)
    cached.embed(TEXTS[:1])
    workers = list(cached.inner._pool._processes.values())
    cached.close()
    assert cached.inner._pool is None and not any(w.is_alive() for w in workers)


QUERIES = ["pricing is too high", "Why do we lose to Quotient?", "ok", "Ça coûte trop cher, honnêtement.",
           "We already use Quotient and it syncs with Salesforce, so switching mid-quarter is a hassle. " * 20]


def test_the_numpy_query_embedder_gives_the_indexed_vectors():
    """A query embedded without torch lands where the same text embedded for the index does (fp32 and bf16),
    a text past the 256-token limit included."""
    light = NumpyMiniLM().embed(QUERIES)
    assert light.dtype == np.float32 and light.shape == (len(QUERIES), 384)
    for precision in ("fp32", "bf16"):
        indexed = MiniLMEmbedder(precision=precision).embed(QUERIES)
        assert (light * indexed).sum(axis=1).min() >= 0.999, precision


def test_a_query_embedding_imports_no_torch():
    code = ("import sys; from winloss.pipeline.providers.embed import NumpyMiniLM; NumpyMiniLM().embed(['pricing']); "
            "heavy = {'torch', 'sentence_transformers', 'transformers'} & set(sys.modules); assert not heavy, heavy")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
