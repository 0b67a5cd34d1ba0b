"""The domain's words as enums, and how a time is shown: what the CLI needs to declare its options.

Apart from pipeline/models.py (pydantic) so that `winloss --help` and the option parsing import nothing heavy.
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    rep = "rep"
    customer = "customer"
    unknown = "unknown"


class Outcome(StrEnum):
    won = "won"
    lost = "lost"
    open = "open"


class FindingKind(StrEnum):
    objection = "objection"
    competitor = "competitor"
    message = "message"


class MessageStatus(StrEnum):
    delivered = "delivered"
    paraphrased = "paraphrased"
    contradicted = "contradicted"


class Scope(StrEnum):
    """What `search` looks through: the findings, or every utterance."""

    findings = "findings"
    utterances = "utterances"


class ExportFormat(StrEnum):
    jsonl = "jsonl"
    csv = "csv"
    parquet = "parquet"


def mmss(seconds: float) -> str:
    total = round(seconds)
    return f"{total // 60:02d}:{total % 60:02d}"
