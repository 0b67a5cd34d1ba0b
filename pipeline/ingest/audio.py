"""Decode any audio or video container to 16 kHz float32 channels, whole or streamed in chunks, with clear errors
for bad files."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Protocol

import numpy as np
from winloss.pipeline.errors import BadInputError

SAMPLE_RATE = 16000


@dataclass(frozen=True)
class AudioChunk:
    """A stretch of a call: its channels as 16 kHz float32 arrays, `start` seconds from the call's start."""

    start: float
    channels: tuple[np.ndarray, ...]

    @property
    def duration(self) -> float:
        return len(self.channels[0]) / SAMPLE_RATE


class AudioSource(Protocol):
    """A call's audio that can be read more than once, in chunks, so a long call never sits whole in memory."""

    path: Path

    @property
    def stereo(self) -> bool: ...

    def chunks(self) -> Iterator[AudioChunk]: ...


@dataclass(frozen=True)
class DecodedAudio:
    """Channels as 16 kHz float32 arrays: one for mono, two (left, right) for stereo. Read as one chunk."""

    path: Path
    channels: tuple[np.ndarray, ...]

    @property
    def duration(self) -> float:
        return len(self.channels[0]) / SAMPLE_RATE

    @property
    def stereo(self) -> bool:
        return len(self.channels) == 2

    def chunks(self) -> Iterator[AudioChunk]:
        yield AudioChunk(0.0, self.channels)


@dataclass(frozen=True)
class AudioFile:
    """A file decoded afresh on every read, `chunk_s` seconds at a time: memory stays flat in the call's length."""

    path: Path
    chunk_s: float = 600.0

    @cached_property
    def n_channels(self) -> int:
        return probe_channels(self.path)

    @property
    def stereo(self) -> bool:
        return self.n_channels == 2

    def chunks(self) -> Iterator[AudioChunk]:
        n = self.n_channels
        step = max(int(self.chunk_s * SAMPLE_RATE), SAMPLE_RATE) if self.chunk_s != float("inf") else None
        pending: list[np.ndarray] = []  # (samples, channels) int16 blocks not yet handed out
        held = start = 0
        try:
            for block in _decoded_blocks(self.path, n):
                pending.append(block)
                held += len(block)
                while step is not None and held >= step:
                    joined = np.concatenate(pending)
                    yield _chunk(start, joined[:step])
                    start += step
                    pending, held = [joined[step:]], held - step
        except BadInputError:
            raise
        except Exception as exc:  # FFmpeg's many error types: all mean the stream broke off
            raise BadInputError(self.path, f"audio could not be decoded, the file may be truncated or corrupt "
                                           f"({type(exc).__name__}: {exc})") from None
        if start + held < SAMPLE_RATE // 10:
            raise BadInputError(self.path, "decoded to less than 0.1 s of audio: the file is truncated or empty")
        if held:
            yield _chunk(start, np.concatenate(pending))


def _chunk(start_sample: int, block: np.ndarray) -> AudioChunk:
    audio = block.astype(np.float32) / 32768.0  # s16 -> f32, as faster-whisper's decode_audio does
    channels = tuple(np.ascontiguousarray(audio[:, c]) for c in range(block.shape[1]))
    return AudioChunk(start_sample / SAMPLE_RATE, channels)


def _decoded_blocks(path: Path, n_channels: int) -> Iterator[np.ndarray]:
    """16 kHz int16 blocks of shape (samples, channels), stereo kept split, anything else mixed to mono.

    The frames that FFmpeg finds invalid are skipped (a cut WAV keeps what it has), as faster-whisper does."""
    import av

    resampler = av.audio.resampler.AudioResampler(format="s16", layout="stereo" if n_channels == 2 else "mono",
                                                  rate=SAMPLE_RATE)
    width = 2 if n_channels == 2 else 1
    with av.open(str(path), mode="r", metadata_errors="ignore") as container:
        frames = container.decode(audio=0)
        while True:
            try:
                frame = next(frames)
            except StopIteration:
                frame = None
            except av.error.InvalidDataError:
                continue
            if frame is not None:
                frame.pts = None  # timestamps of a damaged stream need not line up; the samples are what count
            for out in resampler.resample(frame):  # None flushes the resampler
                yield out.to_ndarray().reshape(-1, width)
            if frame is None:
                return


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
    """Decode the whole file into memory (evaluation, short clips). Stereo stays split (rep and customer are
    usually on separate channels). Analysis streams instead: AudioFile."""
    chunks = list(AudioFile(path, chunk_s=float("inf")).chunks())
    return DecodedAudio(path=path, channels=chunks[0].channels)
