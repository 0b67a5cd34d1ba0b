"""Decode any audio or video container to 16 kHz float32 mono channels, with clear errors for bad files."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import BadInputError

SAMPLE_RATE = 16000


@dataclass(frozen=True)
class DecodedAudio:
    """Channels as 16 kHz float32 arrays: one for mono, two (left, right) for stereo."""

    path: Path
    channels: tuple[np.ndarray, ...]

    @property
    def duration(self) -> float:
        return len(self.channels[0]) / SAMPLE_RATE

    @property
    def stereo(self) -> bool:
        return len(self.channels) == 2


def probe_channels(path: Path) -> int:
    """Channel count of the first audio stream; raises BadInputError for what is not audio."""
    import av

    if not path.exists():
        raise BadInputError(path, "file not found")
    if path.stat().st_size == 0:
        raise BadInputError(path, "empty file (0 bytes): nothing to transcribe")
    try:
        with av.open(str(path)) as container:
            if not container.streams.audio:
                raise BadInputError(path, "no audio stream in this file")
            return container.streams.audio[0].codec_context.channels
    except BadInputError:
        raise
    except Exception as exc:  # PyAV raises many FFmpeg error types; all mean "cannot read as audio"
        raise BadInputError(path, f"not a readable audio or video file ({type(exc).__name__}: {exc})") from None


def decode(path: Path) -> DecodedAudio:
    """Decode the whole file. Stereo stays split (rep and customer are usually on separate channels)."""
    from faster_whisper.audio import decode_audio

    channels = probe_channels(path)
    try:
        if channels == 2:
            left, right = decode_audio(str(path), sampling_rate=SAMPLE_RATE, split_stereo=True)
            decoded: tuple[np.ndarray, ...] = (left, right)
        else:
            decoded = (decode_audio(str(path), sampling_rate=SAMPLE_RATE),)
    except Exception as exc:
        raise BadInputError(path, f"audio could not be decoded, the file may be truncated or corrupt "
                                  f"({type(exc).__name__}: {exc})") from None
    if len(decoded[0]) < SAMPLE_RATE // 10:
        raise BadInputError(path, "decoded to less than 0.1 s of audio: the file is truncated or empty")
    return DecodedAudio(path=path, channels=decoded)
