"""Who spoke when on a mono call: embed each speech region with a speaker encoder, cluster the regions.

Regions are the same VAD spans Whisper decodes one by one, so every transcript segment falls inside exactly
one region and takes that region's speaker. Regions too short for a reliable voice print are clustered
afterwards, to the nearest speaker centroid.
"""

from __future__ import annotations

import threading
from typing import Protocol

import numpy as np

from .audio import SAMPLE_RATE
from .vad import Region

MIN_EMBED_S = 1.0  # shorter regions give noisy voice prints; they join the nearest cluster afterwards


class SpeakerEncoder(Protocol):
    name: str

    def embed(self, audio: np.ndarray) -> np.ndarray | None:
        """An L2-normalised voice print of 16 kHz audio, or None when there is too little voice in it."""
        ...


class ResemblyzerEncoder:
    """Resemblyzer's GE2E speaker encoder; its weights ship inside the PyPI wheel."""

    name = "resemblyzer"

    def __init__(self) -> None:
        self._encoder = None
        self._lock = threading.Lock()

    def _load(self):
        with self._lock:
            if self._encoder is None:
                import warnings

                with warnings.catch_warnings():  # webrtcvad imports the deprecated pkg_resources
                    warnings.simplefilter("ignore")
                    from resemblyzer import VoiceEncoder
                self._encoder = VoiceEncoder("cpu", verbose=False)
            return self._encoder

    def embed(self, audio: np.ndarray) -> np.ndarray | None:
        from resemblyzer import preprocess_wav

        encoder = self._load()
        wav = preprocess_wav(audio.astype(np.float32), source_sr=SAMPLE_RATE)
        if len(wav) < SAMPLE_RATE // 2:
            return None
        vec = encoder.embed_utterance(wav)
        return vec / (np.linalg.norm(vec) or 1.0)


def _cluster(vectors: np.ndarray, n_speakers: int) -> np.ndarray:
    from sklearn.cluster import AgglomerativeClustering

    if len(vectors) <= n_speakers:
        return np.arange(len(vectors))
    # Ward on unit vectors (Euclidean ~ cosine). Average linkage split off one odd region instead of a voice:
    # 59% region accuracy on demo call 03 against 100% for Ward (bench notes in docs/ACCURACY.md).
    return AgglomerativeClustering(n_clusters=n_speakers, linkage="ward").fit_predict(vectors)


def diarize(audio: np.ndarray, regions: list[Region], encoder: SpeakerEncoder, n_speakers: int = 2) -> list[int]:
    """A speaker number (0-based, in order of first appearance) for each region."""
    if not regions:
        return []
    prints = [encoder.embed(audio[int(s * SAMPLE_RATE): int(e * SAMPLE_RATE)]) if e - s >= MIN_EMBED_S else None
              for s, e in regions]
    reliable = [i for i, v in enumerate(prints) if v is not None]
    if len(reliable) < 2:
        return [0] * len(regions)
    labels = np.full(len(regions), -1)
    labels[reliable] = _cluster(np.stack([prints[i] for i in reliable]), n_speakers)
    centroids = {k: np.mean([prints[i] for i in reliable if labels[i] == k], axis=0) for k in set(labels[reliable])}
    for i, (s, e) in enumerate(regions):
        if labels[i] >= 0:
            continue
        vec = encoder.embed(audio[int(s * SAMPLE_RATE): int(e * SAMPLE_RATE)]) if e - s >= 0.3 else None
        if vec is not None:
            labels[i] = max(centroids, key=lambda k: float(vec @ centroids[k]))
        else:  # too short to hear who it is: a backchannel most likely belongs to the nearest earlier turn
            labels[i] = next((labels[j] for j in range(i - 1, -1, -1) if labels[j] >= 0), labels[reliable[0]])
    order = {k: n for n, k in enumerate(dict.fromkeys(labels.tolist()))}
    return [order[k] for k in labels.tolist()]
