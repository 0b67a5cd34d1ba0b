"""Transcribers turn audio into timed segments; `transcribe_audio` turns a call's audio into a Transcript."""

from winloss.pipeline.ingest.transcribe.audio_call import transcribe_audio
from winloss.pipeline.ingest.transcribe.base import AsrSegment, Transcriber, build_transcriber
from winloss.pipeline.ingest.transcribe.imported import TRANSCRIPT_SUFFIXES, read_transcript

__all__ = [
           "TRANSCRIPT_SUFFIXES",
           "AsrSegment",
           "Transcriber",
           "build_transcriber",
           "read_transcript",
           "transcribe_audio",
]
