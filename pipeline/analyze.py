"""One call end to end in the domain: file -> Call -> Transcript -> findings (grounded). No Prefect here."""

from __future__ import annotations

import logging
import os
from functools import cached_property
from pathlib import Path
from typing import Literal

from winloss.pipeline.errors import BadInputError
from winloss.pipeline.extract import Extractor, build_extractor, ground
from winloss.pipeline.extract.learning import LearnedTrackers
from winloss.pipeline.fingerprint import fingerprint
from winloss.pipeline.ingest.crm import ManifestRow
from winloss.pipeline.ingest.diarize import ResemblyzerEncoder, SpeakerEncoder
from winloss.pipeline.ingest.identity import make_call  # noqa: F401  (where callers have always found it)
from winloss.pipeline.ingest.objects import Objects, is_object_url
from winloss.pipeline.ingest.transcribe import (
    Transcriber,
    build_transcriber,
    read_transcript,
)
from winloss.pipeline.ingest.transcribe.call import CallTranscriber
from winloss.pipeline.models import Call, CallAnalysis, CustomerTurn, Label, Transcript
from winloss.pipeline.playbook import Playbook
from winloss.pipeline.providers.embed import Embedder, build_embedder
from winloss.pipeline.redact import Redactor
from winloss.pipeline.settings import Settings

log = logging.getLogger(__name__)

AUTO_PROCESSES_AT = 50


class Engines:
    """The providers one run needs, built from config on first use (nothing loads at import)."""

    def __init__(self, settings: Settings, playbook: Playbook, transcripts: int = 0, labels: list[Label] = (),
                 population: list[CustomerTurn] = ()):
        """`transcripts`: how many text transcripts the run holds (they decide whether embedding gets processes);
        `labels`: reviewers' verdicts, which the trackers learn from; `population`: the customer turns of the reviewed
        calls with the rep's replies, whose words a learned tracker weighs and on which its threshold meets the
        precision target."""
        self.settings = settings
        self.playbook = playbook
        self.transcripts = transcripts
        self.labels = list(labels)
        self.population = list(population)

    @cached_property
    def transcriber(self) -> Transcriber:
        return build_transcriber(self.settings.transcription, self.playbook, self.settings.data_dir / "models")

    @cached_property
    def multilingual(self):
        """The multilingual Whisper that checks each call's language, or None where it cannot run."""
        t = self.settings.transcription
        if not t.detect_language or t.engine != "faster-whisper":
            return None
        from winloss.pipeline.ingest.transcribe.whisper import SPLIT, FasterWhisperTranscriber

        if t.multilingual_model in SPLIT:
            import importlib.util

            if not all(importlib.util.find_spec(d.replace("-", "_")) for d in SPLIT[t.multilingual_model]):
                return None  # not installed: `winloss models` says how to add it
        return FasterWhisperTranscriber(t.model_copy(update={"model": t.multilingual_model, "language": None}),
                                        self.playbook, self.settings.data_dir / "models")

    @cached_property
    def speaker_encoder(self) -> SpeakerEncoder | None:
        if self.settings.transcription.diarization == "none":
            return None
        return ResemblyzerEncoder()

    @cached_property
    def call_transcriber(self) -> CallTranscriber:
        """A call's audio to its transcript, with this run's models and the playbook's company terms."""
        company = self.playbook.company
        return CallTranscriber(self.settings.transcription, self.transcriber, lambda: self.multilingual,
                               self.speaker_encoder, [company.name, *company.products])

    @cached_property
    def objects(self) -> Objects:
        """Object storage, for calls named by s3:// URLs."""
        return Objects(self.settings.storage.s3_endpoint_url)

    @cached_property
    def embedder(self) -> Embedder:
        return build_embedder(self.settings.embeddings, embedding_processes(self.settings.embeddings.processes,
                                                                            self.transcripts))

    def close(self) -> None:
        """Stop what runs beside this process (the embedding workers); the engines stay usable and restart it."""
        if "embedder" in self.__dict__:
            getattr(self.embedder, "close", lambda: None)()

    @cached_property
    def learned(self) -> LearnedTrackers | None:
        """Trackers trained on the labels (None without labels: the zero-shot engine decides alone)."""
        if not self.labels:
            return None
        from winloss.pipeline.extract.learning import train

        return train(self.labels, self.playbook, self.embedder, self.settings.extraction, self.population)

    @cached_property
    def extractor(self) -> Extractor:
        return build_extractor(self.settings, self.playbook, self.embedder, self.learned)

    @property
    def fingerprint(self) -> str:
        from winloss.pipeline.extract.learning import digest

        return fingerprint(self.settings, self.playbook, digest(self.labels))

    @property
    def transcriber_name(self) -> str:
        return self.transcriber.name


def embedding_processes(setting: int | Literal["auto"], transcripts: int) -> int:
    """Worker processes for embedding. auto: one per core (at most 4) when a run holds at least AUTO_PROCESSES_AT
    text transcripts, where embedding is most of the work and the processes' start (a few seconds) pays off;
    none otherwise (audio runs spend their time in Whisper, and a short run would wait for the start)."""
    if setting != "auto":
        return setting
    cores = os.cpu_count() or 1
    return min(cores, 4) if cores > 1 and transcripts >= AUTO_PROCESSES_AT else 0


def analyse_call(call: Call, engines: Engines, row: ManifestRow | None = None) -> CallAnalysis:
    if not is_object_url(call.path):
        return _analyse_file(call, Path(call.path), engines, row)
    with engines.objects.local_copy(call.path) as local:  # readers and decoders take a file
        try:
            return _analyse_file(call, local, engines, row)
        except BadInputError as exc:  # the problem names the object, not the temporary copy
            raise BadInputError(call.path, exc.problem) from None


def _analyse_file(call: Call, path: Path, engines: Engines, row: ManifestRow | None) -> CallAnalysis:
    note = None
    if call.media == "transcript":
        transcript = read_transcript(path, call.call_id, call.rep, row.roles if row else None)
    else:
        transcript, note = engines.call_transcriber.transcribe(call, path)
    if not transcript.utterances:
        raise BadInputError(path, f"no speech found in {transcript.duration:.0f} s of audio")
    privacy = engines.settings.privacy
    if privacy.redact_stored:  # nothing after this point sees the PII: not the store, the index or an LLM
        transcript = Redactor(privacy.names).transcript(transcript)
    return extract_call(call, transcript, engines, note)


def extract_call(call: Call, transcript: Transcript, engines: Engines, note: str | None = None) -> CallAnalysis:
    """Findings of a transcript, each grounded in it: the second half of analysing a call, and all of re-analysing
    a stored one after a change to the playbook or the labels."""
    path = Path(call.path)
    found = engines.extractor.extract(transcript)
    (objections, d1), (competitors, d2), (messages, d3) = (ground(found.objections, transcript),
                                                           ground(found.competitors, transcript),
                                                           ground(found.messages, transcript))
    if d1 + d2 + d3:
        log.warning("%s: dropped %d finding(s) whose quote is not in the transcript", path, d1 + d2 + d3)
    usage = found.usage.model_copy(update={"dropped": found.usage.dropped + d1 + d2 + d3}) if found.usage else None
    return CallAnalysis(call=call, transcript=transcript, objections=objections, competitors=competitors,
                        messages=messages, engine=engines.extractor.name, usage=usage, note=note)
