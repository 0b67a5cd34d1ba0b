"""Speech metrics: WER with Whisper's English normalisation, DER with a collar and optimal speaker mapping."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np
from pydantic import BaseModel

Segment = tuple[float, float, str]  # start, end, speaker


@cache
def _normalizer():
    from transformers.models.whisper.english_normalizer import EnglishTextNormalizer

    return EnglishTextNormalizer({})  # no British/American spelling map: it would need a download


def normalize(text: str) -> list[str]:
    return _normalizer()(text).split()


def wer(reference: str, hypothesis: str) -> float:
    """Word error rate after Whisper's English text normalisation."""
    ref, hyp = normalize(reference), normalize(hypothesis)
    if not ref:
        return float(bool(hyp))
    d = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        prev, d[0] = d[0], i
        for j, h in enumerate(hyp, 1):
            prev, d[j] = d[j], min(d[j] + 1, d[j - 1] + 1, prev + (r != h))
    return d[len(hyp)] / len(ref)


class DER(BaseModel):
    der: float
    missed: float
    false_alarm: float
    confusion: float
    scored_speech: float  # seconds of reference speech scored (outside the collars)


def der(reference: list[Segment], hypothesis: list[Segment], collar: float = 0.25, step: float = 0.01) -> DER:
    """Diarization error rate, frame-based (NIST style): reference boundaries ± collar are not scored,
    hypothesis speakers are mapped one-to-one onto reference speakers to maximise overlap."""
    from scipy.optimize import linear_sum_assignment

    end = max(e for _, e, _ in reference + hypothesis)
    n = int(np.ceil(end / step)) + 1
    ref_spk = sorted({s for *_, s in reference})
    hyp_spk = sorted({s for *_, s in hypothesis})
    R = np.zeros((n, len(ref_spk)), dtype=bool)
    H = np.zeros((n, max(len(hyp_spk), 1)), dtype=bool)
    scored = np.ones(n, dtype=bool)
    for s, e, spk in reference:
        R[round(s / step): round(e / step), ref_spk.index(spk)] = True
        for edge in (s, e):
            scored[max(0, round((edge - collar) / step)): round((edge + collar) / step)] = False
    for s, e, spk in hypothesis:
        H[round(s / step): round(e / step), hyp_spk.index(spk)] = True
    R, H = R[scored], H[scored]
    overlap = R.T.astype(int) @ H.astype(int)
    rows, cols = linear_sum_assignment(-overlap)
    n_ref, n_hyp = R.sum(1), H.sum(1)
    correct = sum((R[:, i] & H[:, j]).astype(int) for i, j in zip(rows, cols, strict=True)) if len(rows) else 0
    missed = np.clip(n_ref - n_hyp, 0, None).sum()
    false_alarm = np.clip(n_hyp - n_ref, 0, None).sum()
    confusion = (np.minimum(n_ref, n_hyp) - correct).sum()
    total = n_ref.sum()
    return DER(der=round(float((missed + false_alarm + confusion) / total), 4), missed=round(missed * step, 2),
               false_alarm=round(false_alarm * step, 2), confusion=round(confusion * step, 2),
               scored_speech=round(total * step, 2))


def read_rttm(path: Path) -> list[Segment]:
    out = []
    for line in path.read_text().splitlines():
        f = line.split()
        if f and f[0] == "SPEAKER":
            out.append((float(f[3]), float(f[3]) + float(f[4]), f[7]))
    return out


def read_stm_text(path: Path) -> str:
    """The reference words of an STM file, in time order."""
    rows = [line.split(maxsplit=5) for line in path.read_text().splitlines() if line.strip()
            and not line.startswith(";;")]
    return " ".join(r[5] for r in sorted(rows, key=lambda r: float(r[3])) if len(r) > 5)
