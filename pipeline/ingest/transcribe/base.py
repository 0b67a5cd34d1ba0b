"""The Transcriber protocol and the registry that picks one by the name in the config."""

from __future__ import annotations

import bisect
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

import numpy as np
from pydantic import BaseModel, ConfigDict
from winloss.pipeline.errors import ConfigError
from winloss.pipeline.playbook import Playbook
from winloss.pipeline.settings import TranscriptionSettings


class AsrSegment(BaseModel):
    model_config = ConfigDict(frozen=True)

    start: float
    end: float
    text: str


Word = tuple[float, float, str]  # start, end (seconds in the call), text as the engine spelled it


def region_segments(regions: list[tuple[float, float]], words: list[Word], sep: str) -> Iterator[AsrSegment]:
    """One segment per speech region from timed words: each word goes to the region its midpoint falls in (the
    last one before it), its text joined with `sep`, its times kept inside the region. So no segment spans two
    turns, whatever windows the engine decoded."""
    starts = [r[0] for r in regions]
    by_region: list[list[Word]] = [[] for _ in regions]
    for w in words:
        by_region[max(0, bisect.bisect_right(starts, (w[0] + w[1]) / 2) - 1)].append(w)
    for (r_start, r_end), ws in zip(regions, by_region, strict=True):
        text = sep.join(t for _, _, t in ws).strip()
        if text:
            first = max(ws[0][0], r_start)
            yield AsrSegment(start=round(first, 2), end=round(max(min(ws[-1][1], r_end), first), 2), text=text)


class Transcriber(Protocol):
    name: str

    def segments(self, audio: np.ndarray, regions: list[tuple[float, float]] | None = None
                 ) -> Iterator[AsrSegment]:
        """Timed segments of one 16 kHz mono channel, produced lazily; regions limit it to speech spans."""
        ...


def build_transcriber(settings: TranscriptionSettings, playbook: Playbook, models_dir: Path | None = None
                      ) -> Transcriber:
    if settings.engine == "faster-whisper":
        from winloss.pipeline.ingest.transcribe.whisper import FasterWhisperTranscriber

        return FasterWhisperTranscriber(settings, playbook, models_dir)
    if settings.engine == "openai":
        from winloss.pipeline.ingest.transcribe.openai_api import OpenAITranscriber

        return OpenAITranscriber(settings, playbook)
    raise ConfigError(f"transcription.engine = {settings.engine!r} is not known; use 'faster-whisper' or 'openai'")
