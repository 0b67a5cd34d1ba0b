"""OpenAI's transcription API (`whisper-1`, `gpt-4o-transcribe`, or any server speaking it) as a Transcriber.

The key comes from OPENAI_API_KEY, the server from OPENAI_BASE_URL (both read by the `openai` client). Audio is
uploaded as 16 kHz mono WAV in pieces under the API's 25 MB limit, cut between speech regions. With word
timestamps (whisper-1) each word goes back to the speech region it was said in, as the local engine does; a
model that returns only segments or plain text gets its segments placed by their midpoints.
"""

from __future__ import annotations

import io
import os
import wave
from collections.abc import Iterator

import numpy as np
from winloss.pipeline.errors import ConfigError, LLMError
from winloss.pipeline.ingest.audio import SAMPLE_RATE
from winloss.pipeline.ingest.transcribe.base import AsrSegment, region_segments
from winloss.pipeline.ingest.transcribe.whisper import echoes, vocabulary_prompt
from winloss.pipeline.ingest.vad import Region, speech_regions
from winloss.pipeline.playbook import Playbook
from winloss.pipeline.settings import TranscriptionSettings

MAX_PIECE_S = 600.0  # 10 min of 16 kHz int16 WAV is 19 MB, under the 25 MB upload limit


def wav_bytes(audio: np.ndarray) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SAMPLE_RATE)
        w.writeframes((np.clip(audio, -1, 1) * 32767).astype("<i2").tobytes())
    return buf.getvalue()


def pieces(regions: list[Region], max_s: float = MAX_PIECE_S) -> list[list[Region]]:
    """Consecutive regions grouped so each group spans at most max_s (a longer single region stands alone)."""
    out: list[list[Region]] = []
    for r in regions:
        if out and r[1] - out[-1][0][0] <= max_s:
            out[-1].append(r)
        else:
            out.append([r])
    return out


class OpenAITranscriber:
    def __init__(self, settings: TranscriptionSettings, playbook: Playbook, client=None):
        self.settings = settings
        self.name = f"openai:{settings.openai_model}"
        self.prompt = vocabulary_prompt(playbook) if settings.vocabulary_prompt else None
        self._client = client

    @property
    def client(self):
        if self._client is None:
            if not os.environ.get("OPENAI_API_KEY"):
                raise ConfigError("transcription.engine = 'openai' needs OPENAI_API_KEY in the environment "
                                  "(and OPENAI_BASE_URL for another server speaking the same API)")
            from openai import OpenAI

            self._client = OpenAI(max_retries=self.settings.openai_max_retries, timeout=self.settings.openai_timeout_s)
        return self._client

    def segments(self, audio: np.ndarray, regions: list[Region] | None = None) -> Iterator[AsrSegment]:
        if regions is None:
            regions = speech_regions(audio, self.settings.turn_gap_ms) if self.settings.vad_filter else [
                (0.0, len(audio) / SAMPLE_RATE)]
        for group in pieces(regions):
            yield from self._piece(audio, group)

    def _piece(self, audio: np.ndarray, regions: list[Region]) -> Iterator[AsrSegment]:
        start, end = regions[0][0], regions[-1][1]
        reply = self._request(wav_bytes(audio[int(start * SAMPLE_RATE): int(end * SAMPLE_RATE)]))
        words = [(w["start"] + start, w["end"] + start, w["word"]) for w in reply.get("words") or []]
        if not words:  # segments, or one text for the whole piece
            segs = reply.get("segments") or [{"start": 0.0, "end": end - start, "text": reply.get("text", "")}]
            words = [(s["start"] + start, s["end"] + start, s["text"]) for s in segs
                     if not (self.prompt and echoes(s["text"], self.prompt))]
        yield from region_segments(regions, [(a, b, t.strip()) for a, b, t in words if t.strip()], sep=" ")

    def _request(self, data: bytes) -> dict:
        import openai

        whisper = self.settings.openai_model.startswith("whisper")
        try:
            reply = self.client.audio.transcriptions.create(
                model=self.settings.openai_model, file=("call.wav", data, "audio/wav"),
                language=self.settings.language or openai.NOT_GIVEN, prompt=self.prompt or openai.NOT_GIVEN,
                response_format="verbose_json" if whisper else "json",
                timestamp_granularities=["word", "segment"] if whisper else openai.NOT_GIVEN)
        except openai.AuthenticationError as exc:
            raise ConfigError(f"the transcription API refused the key (OPENAI_API_KEY): {exc}") from None
        except openai.APIError as exc:  # the client already retried 429, 5xx and timeouts with backoff
            raise LLMError(f"transcription request failed after {self.settings.openai_max_retries} retries: "
                           f"{exc}") from None
        return reply.model_dump() if hasattr(reply, "model_dump") else dict(reply)
