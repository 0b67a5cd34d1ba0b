"""When a stored call must be analysed again: a fingerprint of everything its analysis depends on.

Two halves: what the transcript depends on, then what the findings depend on, so a call whose transcript half still
matches gets new findings from its stored transcript, without transcription.
"""

from __future__ import annotations

import hashlib
import json

from winloss.pipeline.playbook import Playbook
from winloss.pipeline.settings import Settings

# Bump when a change to the code alters what the analysis of a call produces, so stored calls are redone: the
# transcript's revision when transcription changes (audio is transcribed again), the findings' when only extraction
# does (new findings from the stored transcripts).
TRANSCRIPT_REVISION = 5
# 7: a learned tracker reads the rep's reply and the reviewed calls' words; its calibration's slope is held near 1.
ANALYSIS_REVISION = 7


def fingerprint(settings: Settings, playbook: Playbook, labels: str = "") -> str:
    """What the analysis of a call depends on: a different fingerprint means re-analyse. Two halves: what its
    transcript depends on, then what its findings depend on (`labels`: a digest of the reviewers' labels), so a
    call whose first half still matches gets new findings from its stored transcript, without transcription."""
    transcript = {
        "revision": TRANSCRIPT_REVISION,
        # where the model runs and on how many threads does not change what it hears
        "transcription": settings.transcription.model_dump(mode="json", exclude={"device", "cpu_threads"}),
        "company": playbook.company.model_dump(mode="json"),  # names the roles and the vocabulary hints
        "privacy": settings.privacy.model_dump(mode="json"),  # redact_stored changes the stored transcript
    }
    findings = {
        "revision": ANALYSIS_REVISION,
        "extraction": settings.extraction.model_dump(mode="json"),
        # How vectors are computed (batching, worker processes, the cache) does not change what they are.
        "embeddings": settings.embeddings.model_dump(mode="json", include={"engine", "precision"}),
        "playbook": playbook.model_dump(mode="json"),
        "privacy": settings.privacy.model_dump(mode="json"),
        "labels": labels,
    }
    if settings.extraction.engine == "llm":
        findings["llm"] = settings.llm.model_dump(mode="json", include={"model", "base_url", "temperature",
                                                                        "chunk_chars", "offline_hints"})
    return _digest(transcript) + _digest(findings)


def _digest(data: dict) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


def same_transcript(stored: str | None, fingerprint: str) -> bool:
    """Does a stored call's transcript still hold under `fingerprint` (only its findings are out of date)?"""
    return bool(stored) and len(stored) == len(fingerprint) == 32 and stored[:16] == fingerprint[:16]
