"""Grounding: a finding stands only if its quote occurs verbatim in the utterance it cites."""

from __future__ import annotations

from winloss.pipeline.models import Finding, Transcript


def is_grounded(finding: Finding, transcript: Transcript) -> bool:
    ev = finding.evidence
    if ev.call_id != transcript.call_id or not 0 <= ev.utterance_index < len(transcript.utterances):
        return False
    utterance = transcript.utterances[ev.utterance_index]
    return ev.quote in utterance.text and ev.role == utterance.role


def ground(findings: list, transcript: Transcript) -> tuple[list, int]:
    """Keep the grounded findings; return them and how many were dropped."""
    kept = [f for f in findings if is_grounded(f, transcript)]
    return kept, len(findings) - len(kept)
