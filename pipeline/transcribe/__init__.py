"""Transcribers turn audio into timed segments; `transcribe_audio` turns a call's audio into a Transcript."""

from .base import AsrSegment, Transcriber, build_transcriber
from .audio_call import transcribe_audio
from .textfile import TRANSCRIPT_SUFFIXES, read_text_transcript

__all__ = ["AsrSegment", "Transcriber", "build_transcriber", "transcribe_audio", "read_text_transcript",
           "TRANSCRIPT_SUFFIXES"]
