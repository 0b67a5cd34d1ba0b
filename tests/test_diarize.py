"""Diarization of a mono call: real resemblyzer voice prints on two real voices mixed into one channel."""

import numpy as np
from winloss.pipeline.audio import SAMPLE_RATE, decode
from winloss.pipeline.diarize import ResemblyzerEncoder, diarize


def test_two_real_voices_on_one_channel_are_told_apart(data_dir):
    """faster-whisper's stereo file holds one reader per channel: laid end to end as mono, turn by turn."""
    left, right = decode(data_dir / "stereo_diarization.wav").channels
    a, b = (ch[np.abs(ch) > 1e-4][: int(2.2 * SAMPLE_RATE)] for ch in (left, right))
    gap = np.zeros(SAMPLE_RATE // 2, dtype=np.float32)
    pieces, regions, t = [], [], 0.0
    for voice in (a, b, a, b, a):
        pieces += [voice, gap]
        regions.append((round(t, 3), round(t + len(voice) / SAMPLE_RATE, 3)))
        t += (len(voice) + len(gap)) / SAMPLE_RATE
    labels = diarize(np.concatenate(pieces), regions, ResemblyzerEncoder())
    assert labels == [0, 1, 0, 1, 0]


class _Prints:
    """Voice prints keyed by the audio's first sample, to test the assignment of short regions."""

    name = "table"

    def __init__(self, table):
        self.table = table

    def embed(self, audio):
        vec = self.table.get(round(float(audio[0]), 1))
        return None if vec is None else np.asarray(vec, dtype=np.float32) / np.linalg.norm(vec)


def test_short_regions_join_the_nearest_voice_or_the_turn_before():
    audio = np.zeros(SAMPLE_RATE * 20, dtype=np.float32)
    regions = [(0.0, 2.0), (3.0, 5.0), (6.0, 6.5), (7.0, 9.0), (10.0, 10.2)]
    markers = {0.1: [1, 0], 0.2: [0, 1], 0.3: [0.1, 1], 0.4: [1, 0.1]}
    for (start, _), mark in zip(regions, [0.1, 0.2, 0.3, 0.4, 0.5], strict=True):
        audio[int(start * SAMPLE_RATE)] = mark
    # region 3 (0.5 s) is short but long enough to embed: it sounds like voice B; region 5 (0.2 s) is not:
    # it belongs to the turn before it
    assert diarize(audio, regions, _Prints(markers)) == [0, 1, 1, 0, 0]
