"""Who spoke when on a mono call: voice prints of short sliding windows inside the speech regions, clustered
into speakers, then each region cut where the speaker changes.

Real conversations often have no pause between turns (on the pyannote phone sample one VAD region held nine
turns), so labelling whole regions is not enough. The turns this returns are what Whisper then decodes one by
one, so every transcript segment belongs to exactly one speaker.
"""

from __future__ import annotations

import threading
from itertools import pairwise
from typing import Protocol

import numpy as np
from winloss.pipeline.ingest.audio import SAMPLE_RATE
from winloss.pipeline.ingest.vad import Region

Turn = tuple[float, float, int]  # start, end, speaker (0-based, in order of first appearance)
MIN_REGION_S = 0.3  # shorter regions carry too little voice to print; they join the turn before them
MIN_TURN_S = 0.6    # a speaker change that lasts less than this is smoothed away
MAX_WARD = 3000     # voice-print windows clustered directly; a longer call is clustered on a sample


class SpeakerEncoder(Protocol):
    name: str

    def windows(self, clips: list[np.ndarray]) -> list[tuple[np.ndarray, np.ndarray]]:
        """For each clip of 16 kHz audio: unit voice prints of its overlapping windows, and each window's centre
        in seconds from the clip's start."""
        ...


class ResemblyzerEncoder:
    """Resemblyzer's GE2E speaker encoder (weights ship inside the PyPI wheel): 1.6 s windows, 4 per second."""

    name = "resemblyzer"
    rate = 4.0

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
                    from resemblyzer.audio import wav_to_mel_spectrogram
                self._encoder = VoiceEncoder("cpu", verbose=False)
                wav_to_mel_spectrogram(np.zeros(SAMPLE_RATE, dtype=np.float32))  # librosa's imports: load time
            return self._encoder

    def windows(self, clips: list[np.ndarray]) -> list[tuple[np.ndarray, np.ndarray]]:
        """Resemblyzer's own partial windows (as embed_utterance cuts them), but every clip's windows go through
        the network in shared batches: one LSTM pass per region cost three times as much on a 2-core CPU."""
        import torch

        encoder = self._load()  # first: it imports resemblyzer with webrtcvad's warning silenced
        from resemblyzer.audio import normalize_volume, wav_to_mel_spectrogram

        mels, centres = [], []
        for clip in clips:
            # Volume only: resemblyzer's own preprocessing also trims silences, which would shift window times.
            wav = normalize_volume(clip.astype(np.float32), -30, increase_only=True)
            wav_slices, mel_slices = encoder.compute_partial_slices(len(wav), rate=self.rate, min_coverage=0.75)
            if wav_slices[-1].stop >= len(wav):
                wav = np.pad(wav, (0, wav_slices[-1].stop - len(wav)))
            mel = wav_to_mel_spectrogram(wav)
            mels.append(np.array([mel[sl] for sl in mel_slices]))
            centres.append(np.array([(sl.start + min(sl.stop, len(clip))) / 2 / SAMPLE_RATE for sl in wav_slices]))
        if not mels:
            return []
        stacked = np.concatenate(mels)
        with torch.no_grad():
            prints = np.concatenate([encoder(torch.from_numpy(stacked[i: i + 256])).numpy()
                                     for i in range(0, len(stacked), 256)])
        prints /= np.linalg.norm(prints, axis=1, keepdims=True)
        out, i = [], 0
        for m, c in zip(mels, centres, strict=True):
            out.append((prints[i: i + len(m)], c))
            i += len(m)
        return out


def _cluster(vectors: np.ndarray, n_speakers: int) -> np.ndarray:
    """Ward clustering of unit vectors (Euclidean ~ cosine); average linkage split off one odd window instead of a
    voice. Ward needs memory quadratic in the windows, so a long call (over MAX_WARD windows, about 12 minutes of
    speech) is clustered on an even sample of them and every window then joins the nearest speaker's centroid."""
    from sklearn.cluster import AgglomerativeClustering

    if len(vectors) <= n_speakers:
        return np.arange(len(vectors))
    ward = AgglomerativeClustering(n_clusters=n_speakers, linkage="ward")
    if len(vectors) <= MAX_WARD:
        return ward.fit_predict(vectors)
    sample = np.linspace(0, len(vectors) - 1, MAX_WARD).astype(int)
    labels = ward.fit_predict(vectors[sample])
    centroids = np.stack([vectors[sample][labels == k].mean(axis=0) for k in range(n_speakers)])
    return (vectors @ centroids.T - (centroids ** 2).sum(axis=1) / 2).argmax(axis=1)  # nearest, Euclidean


def _smooth(labels: list[int]) -> list[int]:
    """Majority of each window and its neighbours: one odd window is not a turn."""
    if len(labels) < 3:
        return labels
    out = labels[:]
    for i in range(1, len(labels) - 1):
        if labels[i - 1] == labels[i + 1] != labels[i]:
            out[i] = labels[i - 1]
    return out


Prints = tuple[list[np.ndarray], list[tuple[int, float]]]  # voice prints, (region index, call time) of each row


def voice_prints(audio: np.ndarray, regions: list[Region], encoder: SpeakerEncoder, offset: float = 0.0,
                 first_index: int = 0) -> Prints:
    """Voice prints of the regions long enough to print. `regions` are in `audio`'s own time; the answer is in
    call time (+ `offset`) and counts regions from `first_index`, so a long call can be printed chunk by chunk."""
    prints, where = [], []
    printed = [(r, start, end) for r, (start, end) in enumerate(regions) if end - start >= MIN_REGION_S]
    clips = [audio[int(start * SAMPLE_RATE): int(end * SAMPLE_RATE)] for _, start, end in printed]
    for (r, start, _), (vectors, centres) in zip(printed, encoder.windows(clips), strict=True):
        prints.append(vectors)
        where += [(first_index + r, offset + start + c) for c in centres]
    return prints, where


def diarize(audio: np.ndarray, regions: list[Region], encoder: SpeakerEncoder, n_speakers: int = 2) -> list[Turn]:
    """Speaker turns covering the speech regions."""
    return turns_from_prints(regions, voice_prints(audio, regions, encoder), n_speakers)


def turns_from_prints(regions: list[Region], found: Prints, n_speakers: int = 2) -> list[Turn]:
    """Speaker turns covering the speech regions, from the voice prints of the whole call."""
    prints, where = found
    if len(where) < 2:
        return [(s, e, 0) for s, e in regions]
    labels = _cluster(np.vstack(prints), n_speakers).tolist()
    by_region: dict[int, list[tuple[float, int]]] = {}
    for (r, t), lab in zip(where, labels, strict=True):
        by_region.setdefault(r, []).append((t, lab))
    turns: list[Turn] = []
    for r, (start, end) in enumerate(regions):
        mine = by_region.get(r, [])
        if not mine:
            turns.append((start, end, turns[-1][2] if turns else labels[0]))
            continue
        smoothed = _smooth([lab for _, lab in mine])
        cuts = [start] + [(mine[i][0] + mine[i + 1][0]) / 2 for i in range(len(mine) - 1)
                          if smoothed[i] != smoothed[i + 1]] + [end]
        runs = [smoothed[0]] + [smoothed[i + 1] for i in range(len(mine) - 1) if smoothed[i] != smoothed[i + 1]]
        for (a, b), lab in zip(pairwise(cuts), runs, strict=True):
            if turns and (b - a < MIN_TURN_S or turns[-1][2] == lab) and turns[-1][1] >= a - 1e-6:
                turns[-1] = (turns[-1][0], round(float(b), 3), turns[-1][2] if b - a < MIN_TURN_S else lab)
            else:
                turns.append((round(float(a), 3), round(float(b), 3), lab))
    order = {k: n for n, k in enumerate(dict.fromkeys(t[2] for t in turns))}
    return [(s, e, order[k]) for s, e, k in turns]
