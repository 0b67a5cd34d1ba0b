"""From a decoded call to a role-labelled Transcript.

Stereo calls are transcribed per channel, each channel's role from the configured channel map. Mono calls are
diarized (speech regions clustered by voice) when a speaker encoder is given, and the rep is found among the
speakers by what they say; without enough evidence the roles stay unknown.
"""

from __future__ import annotations

import logging

from ..audio import DecodedAudio
from ..diarize import SpeakerEncoder, diarize
from ..models import Role, Transcript, Utterance
from ..speakers import channel_roles, infer_rep
from ..vad import Region, merge_turns, speech_regions
from .base import AsrSegment, Transcriber

log = logging.getLogger(__name__)


def transcribe_audio(call_id: str, audio: DecodedAudio, transcriber: Transcriber,
                     stereo_roles: tuple[str, str], gap_ms: int, rep_name: str | None = None,
                     encoder: SpeakerEncoder | None = None, company_terms: list[str] | None = None,
                     first_regions: list[Region] | None = None) -> Transcript:
    """`first_regions`: the first channel's speech regions when the caller already has them (same gap)."""
    if first_regions is None:
        first_regions = speech_regions(audio.channels[0], gap_ms)
    if audio.stereo:
        roles = channel_roles(stereo_roles)
        left, right = first_regions, speech_regions(audio.channels[1], gap_ms)
        turns = (merge_turns(left, right), merge_turns(right, left))
        tagged = [(seg, role, _speaker(role, rep_name))
                  for channel, role, regions in zip(audio.channels, roles, turns, strict=True)
                  for seg in transcriber.segments(channel, regions)]
        tagged.sort(key=lambda item: (item[0].start, item[0].end))
        confidence = 1.0
    else:
        tagged, confidence = _mono(audio, first_regions, transcriber, rep_name, encoder, company_terms or [])
    utterances = [
        Utterance(index=i, role=role, speaker=speaker, start=seg.start, end=max(seg.end, seg.start), text=seg.text)
        for i, (seg, role, speaker) in enumerate(tagged)
    ]
    return Transcript(call_id=call_id, utterances=utterances, duration=round(audio.duration, 2),
                      engine=transcriber.name, channels=len(audio.channels), role_confidence=confidence)


def _mono(audio: DecodedAudio, regions: list[Region], transcriber: Transcriber, rep_name: str | None,
          encoder: SpeakerEncoder | None, company_terms: list[str]) -> tuple[list, float | None]:
    channel = audio.channels[0]
    if encoder is None or not regions:
        return [(seg, Role.unknown, "unknown") for seg in transcriber.segments(channel, regions)], None
    turns = diarize(channel, regions, encoder)
    spans = [(start, end) for start, end, _ in turns]
    segments = list(transcriber.segments(channel, spans))
    if not segments:
        return [], None
    speakers = [f"S{turns[_region_of(seg, spans)][2] + 1}" for seg in segments]
    by_speaker: dict[str, list[str]] = {}
    for seg, spk in zip(segments, speakers, strict=True):
        by_speaker.setdefault(spk, []).append(seg.text)
    rep, confidence = infer_rep(by_speaker, company_terms, rep_name)
    if rep is None:
        log.info("roles left unknown: rep evidence margin %.2f", confidence)
    roles = {spk: (Role.unknown if rep is None else Role.rep if spk == rep else Role.customer) for spk in by_speaker}
    named = {spk: (rep_name or "rep") if roles[spk] is Role.rep else spk for spk in by_speaker}
    return [(seg, roles[spk], named[spk]) for seg, spk in zip(segments, speakers, strict=True)], confidence


def _region_of(seg: AsrSegment, regions: list[tuple[float, float]]) -> int:
    """The region holding the segment's midpoint (Whisper decodes regions one by one, so one always does)."""
    mid = (seg.start + seg.end) / 2
    return min(range(len(regions)), key=lambda i: 0 if regions[i][0] <= mid <= regions[i][1]
               else min(abs(mid - regions[i][0]), abs(mid - regions[i][1])))


def _speaker(role: Role, rep_name: str | None) -> str:
    if role is Role.rep:
        return rep_name or "rep"
    return role.value
