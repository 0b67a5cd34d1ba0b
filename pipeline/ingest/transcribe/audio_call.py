"""From a call's audio to a role-labelled Transcript, streaming: a long call never sits whole in memory.

Two reads of the audio, chunk by chunk. The first finds the speech (VAD per channel) and, on a mono call, prints
the voices; the second transcribes. In between, stereo turns come from the configured channel map and mono
turns from clustering the voice prints; the rep is then found among the speakers by what they say, and without
enough evidence the roles stay unknown. A call that fits in one chunk is decoded once.

Chunks are cut only in silence: speech that runs into a chunk's end is carried into the next chunk, so no
region, turn or Whisper window is split by a chunk boundary.
"""

from __future__ import annotations

import bisect
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
from winloss.pipeline.ingest.audio import SAMPLE_RATE, AudioChunk, AudioSource
from winloss.pipeline.ingest.diarize import SpeakerEncoder, turns_from_prints, voice_prints
from winloss.pipeline.ingest.speakers import channel_roles, infer_rep
from winloss.pipeline.ingest.transcribe.base import AsrSegment, Transcriber
from winloss.pipeline.ingest.vad import Region, merge_turns, speech_regions
from winloss.pipeline.models import Role, Transcript, Utterance

log = logging.getLogger(__name__)
TAIL_S = 2.0          # speech this close to a chunk's end may go on in the next chunk: it waits for it
LANGUAGE_SPEECH_S = 30.0
DECODE_SPEECH_S = 120.0  # speech gathered before a decode: Whisper's 30 s windows stay full across chunk edges
MAX_BUFFER_S = 1200.0    # audio held at most while gathering it (a long silence must not grow the buffer)


@dataclass
class SpeechMap:
    """What the first read of a call found: speech regions per channel (call time), the voice prints of a mono
    call's regions, the first seconds of speech (for the language check), and the audio itself when the whole
    call came as one chunk."""

    regions: tuple[list[Region], ...]
    duration: float
    first_speech: np.ndarray
    prints: list[np.ndarray] = field(default_factory=list)
    where: list[tuple[int, float]] = field(default_factory=list)
    whole: AudioChunk | None = None


def _with_last(chunks: Iterator[AudioChunk]) -> Iterator[tuple[AudioChunk, bool]]:
    current = next(chunks, None)
    while current is not None:
        following = next(chunks, None)
        yield current, following is None
        current = following


def _join(carry: AudioChunk | None, chunk: AudioChunk) -> AudioChunk:
    if carry is None or not len(carry.channels[0]):
        return chunk
    return AudioChunk(carry.start, tuple(np.concatenate(pair) for pair in zip(carry.channels, chunk.channels,
                                                                                strict=True)))


def _tail(buffer: AudioChunk, cut: float) -> AudioChunk:
    """The buffer from `cut` seconds (its own time) on."""
    i = round(cut * SAMPLE_RATE)
    return AudioChunk(buffer.start + i / SAMPLE_RATE, tuple(c[i:] for c in buffer.channels))


def _safe_cut(spans: list[list[Region]], limit: float) -> float:
    """The latest time at or before `limit` that lies inside no span of any channel (spans in buffer time)."""
    cut, moved = limit, True
    while moved:
        moved = False
        for channel in spans:
            for start, end in channel:
                if start < cut < end:
                    cut, moved = start, True
    return max(cut, 0.0)


def map_speech(source: AudioSource, gap_ms: int, encoder: SpeakerEncoder | None = None) -> SpeechMap:
    """First read: speech regions of every channel, and voice prints when `encoder` is given and the call is mono
    (a stereo call's channels already are its speakers)."""
    if source.stereo:
        encoder = None
    regions: list[list[Region]] | None = None
    prints: list[np.ndarray] = []
    where: list[tuple[int, float]] = []
    first: list[np.ndarray] = []
    first_s = duration = 0.0
    carry: AudioChunk | None = None
    chunks = 0
    whole: AudioChunk | None = None
    for chunk, last in _with_last(source.chunks()):
        chunks += 1
        whole = chunk if chunks == 1 and last else None
        buffer = _join(carry, chunk)
        duration = buffer.start + buffer.duration
        found = [speech_regions(channel, gap_ms) for channel in buffer.channels]
        cut = buffer.duration if last else _safe_cut(found, max(buffer.duration - TAIL_S, 0.0))
        done = [[r for r in channel if r[1] <= cut] for channel in found]
        if regions is None:
            regions = [[] for _ in buffer.channels]
        if encoder is not None:
            p, w = voice_prints(buffer.channels[0], done[0], encoder, offset=buffer.start, first_index=len(regions[0]))
            prints += p
            where += w
        for a, b in done[0]:
            if first_s < LANGUAGE_SPEECH_S:
                first.append(buffer.channels[0][int(a * SAMPLE_RATE): int(b * SAMPLE_RATE)])
                first_s += b - a
        for mine, channel in zip(regions, done, strict=True):
            mine += [(round(buffer.start + a, 3), round(buffer.start + b, 3)) for a, b in channel]
        carry = None if last else _tail(buffer, cut)
    speech = np.concatenate(first)[: int(LANGUAGE_SPEECH_S * SAMPLE_RATE)] if first else np.zeros(0, np.float32)
    return SpeechMap(regions=tuple(regions or [[]]), duration=round(duration, 2), first_speech=speech,
                     prints=prints, where=where, whole=whole)


def transcribe_spans(source: AudioSource, spans: tuple[list[Region], ...], transcriber: Transcriber,
                     whole: AudioChunk | None = None) -> list[list[AsrSegment]]:
    """Second read: each channel's spans (call time) transcribed, one segment per span at most, in call time.

    Spans are decoded once at least DECODE_SPEECH_S of their speech has come (or the buffer holds
    MAX_BUFFER_S of audio, or the call ends), so Whisper packs them into full windows as it would the whole call."""
    out: list[list[AsrSegment]] = [[] for _ in spans]
    next_span = [0] * len(spans)
    carry: AudioChunk | None = None
    chunks = iter([whole]) if whole is not None else source.chunks()
    for chunk, last in _with_last(chunks):
        buffer = _join(carry, chunk)
        end = buffer.start + buffer.duration
        ready = [[(max(a - buffer.start, 0.0), b - buffer.start) for a, b in channel_spans[next_span[c]:]
                  if last or b <= end] for c, channel_spans in enumerate(spans)]
        speech = sum(b - a for channel in ready for a, b in channel)
        if last or speech >= DECODE_SPEECH_S or buffer.duration >= MAX_BUFFER_S:
            for c, regions in enumerate(ready):
                next_span[c] += len(regions)
                out[c] += [seg.model_copy(update={"start": round(seg.start + buffer.start, 2),
                                                  "end": round(seg.end + buffer.start, 2)})
                           for seg in transcriber.segments(buffer.channels[c], regions)] if regions else []
        if not last:  # keep the audio from the first span still to decode
            waiting = [s[next_span[c]][0] for c, s in enumerate(spans) if next_span[c] < len(s)]
            carry = _tail(buffer, min([end, *waiting]) - buffer.start)
    return out


def transcribe_audio(call_id: str, audio: AudioSource, transcriber: Transcriber,
                     stereo_roles: tuple[str, str], gap_ms: int, rep_name: str | None = None,
                     encoder: SpeakerEncoder | None = None, company_terms: list[str] | None = None,
                     speech: SpeechMap | None = None) -> Transcript:
    """`speech`: the call's first read when the caller already made it (with the same gap and encoder)."""
    if speech is None:
        speech = map_speech(audio, gap_ms, encoder)
    if audio.stereo:
        roles = channel_roles(stereo_roles)
        left, right = speech.regions
        turns = (merge_turns(left, right), merge_turns(right, left))
        tagged = [(seg, role, _speaker(role, rep_name))
                  for segments, role in zip(transcribe_spans(audio, turns, transcriber, speech.whole), roles,
                                            strict=True)
                  for seg in segments]
        tagged.sort(key=lambda item: (item[0].start, item[0].end))
        confidence: float | None = 1.0
    else:
        tagged, confidence = _mono(audio, speech, transcriber, rep_name, encoder, company_terms or [])
    utterances = [
        Utterance(index=i, role=role, speaker=speaker, start=seg.start, end=max(seg.end, seg.start), text=seg.text)
        for i, (seg, role, speaker) in enumerate(tagged)
    ]
    return Transcript(call_id=call_id, utterances=utterances, duration=speech.duration,
                      engine=transcriber.name, channels=2 if audio.stereo else 1, role_confidence=confidence)


def _mono(audio: AudioSource, speech: SpeechMap, transcriber: Transcriber, rep_name: str | None,
          encoder: SpeakerEncoder | None, company_terms: list[str]) -> tuple[list, float | None]:
    regions = speech.regions[0]
    if encoder is None or not regions:
        segments = transcribe_spans(audio, (regions,), transcriber, speech.whole)[0]
        return [(seg, Role.unknown, "unknown") for seg in segments], None
    turns = turns_from_prints(regions, (speech.prints, speech.where))
    spans = [(start, end) for start, end, _ in turns]
    segments = transcribe_spans(audio, (spans,), transcriber, speech.whole)[0]
    if not segments:
        return [], None
    starts = [start for start, _ in spans]
    speakers = [f"S{turns[_region_of(seg, spans, starts)][2] + 1}" for seg in segments]
    by_speaker: dict[str, list[str]] = {}
    for seg, spk in zip(segments, speakers, strict=True):
        by_speaker.setdefault(spk, []).append(seg.text)
    rep, confidence = infer_rep(by_speaker, company_terms, rep_name)
    if rep is None:
        log.info("roles left unknown: rep evidence margin %.2f", confidence)
    roles = {spk: (Role.unknown if rep is None else Role.rep if spk == rep else Role.customer) for spk in by_speaker}
    named = {spk: (rep_name or "rep") if roles[spk] is Role.rep else spk for spk in by_speaker}
    return [(seg, roles[spk], named[spk]) for seg, spk in zip(segments, speakers, strict=True)], confidence


def _region_of(seg: AsrSegment, regions: list[Region], starts: list[float]) -> int:
    """The region holding the segment's midpoint (each segment comes from one region, so one always does)."""
    mid = (seg.start + seg.end) / 2
    i = max(bisect.bisect_right(starts, mid) - 1, 0)
    near = [j for j in (i - 1, i, i + 1) if 0 <= j < len(regions)]
    return min(near, key=lambda j: 0 if regions[j][0] <= mid <= regions[j][1]
               else min(abs(mid - regions[j][0]), abs(mid - regions[j][1])))


def _speaker(role: Role, rep_name: str | None) -> str:
    if role is Role.rep:
        return rep_name or "rep"
    return role.value
