"""From a decoded call to a role-labelled Transcript: stereo calls are transcribed per channel and merged."""

from __future__ import annotations

from ..audio import DecodedAudio
from ..models import Role, Transcript, Utterance
from ..speakers import channel_roles
from ..vad import merge_turns, speech_regions
from .base import Transcriber


def transcribe_audio(call_id: str, audio: DecodedAudio, transcriber: Transcriber,
                     stereo_roles: tuple[str, str], gap_ms: int, rep_name: str | None = None) -> Transcript:
    if audio.stereo:
        roles = channel_roles(stereo_roles)
        left, right = (speech_regions(channel, gap_ms) for channel in audio.channels)
        turns = (merge_turns(left, right), merge_turns(right, left))
        tagged = [(seg, role) for channel, role, regions in zip(audio.channels, roles, turns)
                  for seg in transcriber.segments(channel, regions)]
        tagged.sort(key=lambda item: (item[0].start, item[0].end))
    else:
        tagged = [(seg, Role.unknown) for seg in transcriber.segments(audio.channels[0])]
    utterances = [
        Utterance(index=i, role=role, speaker=_speaker(role, rep_name), start=seg.start,
                  end=max(seg.end, seg.start), text=seg.text)
        for i, (seg, role) in enumerate(tagged)
    ]
    return Transcript(call_id=call_id, utterances=utterances, duration=round(audio.duration, 2),
                      engine=transcriber.name, channels=len(audio.channels))


def _speaker(role: Role, rep_name: str | None) -> str:
    if role is Role.rep:
        return rep_name or "rep"
    return role.value
