"""The Transcriber protocol and the registry that picks one by the name in the config."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

import numpy as np
from pydantic import BaseModel, ConfigDict

from ..errors import ConfigError
from ..settings import Playbook, TranscriptionSettings


class AsrSegment(BaseModel):
    model_config = ConfigDict(frozen=True)

    start: float
    end: float
    text: str


class Transcriber(Protocol):
    name: str

    def segments(self, audio: np.ndarray, regions: list[tuple[float, float]] | None = None
                 ) -> Iterator[AsrSegment]:
        """Timed segments of one 16 kHz mono channel, produced lazily; regions limit it to speech spans."""
        ...


def build_transcriber(settings: TranscriptionSettings, playbook: Playbook, models_dir: Path | None = None
                      ) -> Transcriber:
    if settings.engine == "faster-whisper":
        from .whisper import FasterWhisperTranscriber

        return FasterWhisperTranscriber(settings, playbook, models_dir)
    if settings.engine == "openai":
        from .openai_api import OpenAITranscriber

        return OpenAITranscriber(settings, playbook)
    raise ConfigError(f"transcription.engine = {settings.engine!r} is not known; use 'faster-whisper' or 'openai'")
