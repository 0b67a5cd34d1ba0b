"""Speech regions (Silero VAD, shipped inside faster-whisper) and turn-preserving region merges."""

from __future__ import annotations

import numpy as np
from winloss.pipeline.ingest.audio import SAMPLE_RATE

Region = tuple[float, float]
MAX_REGION_S = 28.0  # stays inside one 30 s Whisper window


def speech_regions(audio: np.ndarray, min_gap_ms: int) -> list[Region]:
    """Speech as (start, end) seconds, split wherever a pause lasts at least min_gap_ms."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    options = VadOptions(min_silence_duration_ms=min_gap_ms, speech_pad_ms=150, max_speech_duration_s=MAX_REGION_S)
    return [(round(r["start"] / SAMPLE_RATE, 3), round(r["end"] / SAMPLE_RATE, 3))
            for r in get_speech_timestamps(audio, options, sampling_rate=SAMPLE_RATE)]


def merge_turns(own: list[Region], other: list[Region]) -> list[Region]:
    """Join consecutive regions of one channel unless the other channel speaks between them.

    On a stereo call each channel holds one speaker, so such a join never mixes two turns, and fewer,
    longer regions cost Whisper fewer encoder passes.
    """
    merged: list[Region] = []
    for start, end in own:
        if merged:
            prev_start, prev_end = merged[-1]
            interrupted = any(prev_end <= o_start < start for o_start, _ in other)
            if not interrupted and end - prev_start <= MAX_REGION_S:
                merged[-1] = (prev_start, end)
                continue
        merged.append((start, end))
    return merged
