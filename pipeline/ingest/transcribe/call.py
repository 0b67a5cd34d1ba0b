"""One call's audio to a role-labelled Transcript in one call: `CallTranscriber.transcribe(call)`.

It owns what the two reads of the audio must agree on (the turn gap, the speaker encoder), the language check
between them, and the models (the configured one, and the multilingual one a call in another language needs).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from winloss.pipeline.ingest.audio import AudioFile
from winloss.pipeline.ingest.diarize import SpeakerEncoder
from winloss.pipeline.ingest.transcribe.audio_call import map_speech, transcribe_audio
from winloss.pipeline.ingest.transcribe.base import Transcriber
from winloss.pipeline.models import Call, Transcript
from winloss.pipeline.settings import TranscriptionSettings

log = logging.getLogger(__name__)


@dataclass
class CallTranscriber:
    """`multilingual` returns the model that checks a call's language (None where it cannot run); it is asked for
    only when a call has speech, so a run of text transcripts never loads it."""

    settings: TranscriptionSettings
    transcriber: Transcriber
    multilingual: Callable[[], Transcriber | None]
    encoder: SpeakerEncoder | None
    company_terms: list[str]

    def transcribe(self, call: Call, path: Path | None = None) -> tuple[Transcript, str | None]:
        """The call's transcript, and a note when it was heard in another language than the configured one.
        `path`: where its audio is read (a local copy of an object in storage), when not `call.path`."""
        audio = AudioFile(path or Path(call.path), self.settings.chunk_s)
        # The first read (speech, voice prints) serves the language check and the transcription alike.
        speech = map_speech(audio, self.settings.turn_gap_ms, self.encoder)
        transcriber, note = self.transcriber, None
        other = self.spoken_language(speech.first_speech)
        if other:
            transcriber = self.multilingual().with_language(other[0])
            expected = self.settings.language or "en"
            note = (f"spoken language {other[0]} (p {other[1]:.2f}), not {expected}: transcribed with the "
                    f"multilingual {self.settings.multilingual_model} model; the playbook's phrases are {expected}, "
                    f"so expect few findings")
            log.warning("%s: %s", call.path, note)
        transcript = transcribe_audio(call.call_id, audio, transcriber, self.settings.stereo_roles,
                                      self.settings.turn_gap_ms, call.rep, encoder=self.encoder,
                                      company_terms=self.company_terms, speech=speech)
        if other:
            transcript = transcript.model_copy(update={"language": other[0]})
        return transcript, note

    def spoken_language(self, speech: np.ndarray) -> tuple[str, float] | None:
        """(language, probability) of the call's first speech when it is not the configured one, else None."""
        if not len(speech) or (model := self.multilingual()) is None:
            return None
        language, probability = model.detect_language(speech)
        expected = self.settings.language or "en"
        return (language, probability) if language != expected and probability >= 0.5 else None
