"""Typed records passed between stages. Every finding carries Evidence that points into its transcript."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import ClassVar, Literal, NamedTuple

from pydantic import BaseModel, ConfigDict, Field, model_validator
from winloss.pipeline.vocab import FindingKind, MessageStatus, Outcome, Role, mmss  # noqa: F401  (re-exported)


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def call_key(path: Path | str, deal_id: str | None, salt: int = 0) -> str:
    """A new call's id, from its source: the resolved file and the deal its manifest row names (16 hex chars).

    `salt` gives another id when this one is taken (a call that moved keeps the id of where it was first seen)."""
    key = f"{path}\x00{deal_id or ''}" + (f"\x00{salt}" if salt else "")
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def content_id(data: bytes) -> str:
    """The content hash of some bytes: with the config fingerprint, it decides whether a call must be analysed again."""
    return hashlib.sha256(data).hexdigest()[:16]


def file_id(path: Path, chunk: int = 1 << 20) -> str:
    """content_id of a file, read in chunks (recordings can be large)."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()[:16]


class Call(_Frozen):
    """One recorded (or transcribed) call and what the manifest says about it.

    Its id stands for its source (file and deal, pipeline/ingest/identity.py), not its bytes: `content_hash` is what
    tells whether the file changed since it was analysed."""

    call_id: str
    path: str
    media: Literal["audio", "transcript"]
    date: dt.date | None = None
    rep: str | None = None
    account: str | None = None
    deal_id: str | None = None
    content_hash: str | None = None
    origin: str | None = Field(None, description="the manifest or folder the call was last found through")


class Utterance(_Frozen):
    index: int = Field(ge=0)
    role: Role = Role.unknown
    speaker: str = ""
    start: float = Field(ge=0)
    end: float = Field(ge=0)
    text: str

    @model_validator(mode="after")
    def _ordered(self) -> Utterance:
        if self.end < self.start:
            raise ValueError(f"utterance {self.index} ends ({self.end}) before it starts ({self.start})")
        return self


class Transcript(_Frozen):
    call_id: str
    utterances: list[Utterance]
    duration: float = Field(ge=0)
    language: str = "en"
    engine: str
    channels: int = 1
    role_confidence: float | None = Field(None, ge=0, le=1, description="how sure the rep/customer roles are")


def rep_replies(utterances: Sequence[Utterance]) -> dict[int, str]:
    """The rep's reply to each utterance that is not the rep's, by utterance index: the rep's next turn (their run of
    utterances; what the customer says before it is part of what the rep answers), "" where the rep does not speak
    again. Empty when no utterance is the rep's (roles unknown): there, nobody knows which turn replies."""
    if not any(u.role is Role.rep for u in utterances):
        return {}
    out: dict[int, str] = {}
    run: list[str] = []  # the rep's utterances since the last other one, last first
    reply = ""
    for u in reversed(utterances):
        if u.role is Role.rep:
            run.append(u.text)
            continue
        if run:
            reply, run = " ".join(reversed(run)), []
        out[u.index] = reply
    return out


class CustomerTurn(NamedTuple):
    """A stored customer turn and the rep's reply to it (rep_replies; None: unknown): what a learned tracker judges."""

    call_id: str
    index: int
    text: str
    reply: str | None = None


class Deal(_Frozen):
    deal_id: str = Field(min_length=1)
    outcome: Outcome
    amount: float | None = Field(None, ge=0, allow_inf_nan=False)
    close_date: dt.date | None = None
    stage: str | None = None
    rep: str | None = None


class Evidence(_Frozen):
    """Where a finding stands in its call: the verbatim quote and when, and who said it."""

    call_id: str
    utterance_index: int = Field(ge=0)
    start: float = Field(ge=0)
    end: float = Field(ge=0)
    role: Role
    speaker: str = ""
    quote: str = Field(min_length=1)


class _Finding(_Frozen):
    evidence: Evidence
    confidence: float = Field(ge=0, le=1)
    engine: str
    kind: FindingKind

    _label_field: ClassVar[str]  # the field that names what was found: category, competitor or message id

    @property
    def label(self) -> str:
        return getattr(self, self._label_field)

    @property
    def finding_id(self) -> str:
        """Stable across re-runs, so re-ingesting upserts instead of duplicating."""
        return finding_key(self.evidence.call_id, self.kind, self.label, self.evidence.utterance_index, self.engine)


def finding_key(call_id: str, kind: str, label: str, utterance_index: int, engine: str) -> str:
    """A finding's id from what makes it this finding (the store's migrations recompute it when a call id changes)."""
    key = f"{call_id}|{FindingKind(kind).value}|{label}|{utterance_index}|{engine}"
    return hashlib.sha256(key.encode()).hexdigest()[:20]


class Objection(_Finding):
    _label_field = "category"
    kind: Literal[FindingKind.objection] = FindingKind.objection
    category: str
    answered: bool | None = Field(None, description="the rep addressed it in the next turns (None: not judged)")
    accepted: bool | None = Field(None, description="the customer accepted the answer rather than repeating it")


class CompetitorMention(_Finding):
    _label_field = "competitor"
    kind: Literal[FindingKind.competitor] = FindingKind.competitor
    competitor: str
    alias: str
    context: str | None = Field(None, description="evaluating, incumbent, price_comparison, switching_away, "
                                                  "reference or None when no cue says")


class MessageUse(_Finding):
    _label_field = "message_id"
    kind: Literal[FindingKind.message] = FindingKind.message
    message_id: str
    status: MessageStatus


Finding = Objection | CompetitorMention | MessageUse


class LLMUsage(_Frozen):
    """What one call's LLM extraction cost, and what grounding threw away."""

    model: str
    requests: int = 0
    cached: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    dropped: int = Field(0, description="findings dropped: quote or utterance not in the transcript, unknown label")
    suspicious_utterances: list[int] = Field([], description="utterances that read like instructions to the model")


class CallAnalysis(_Frozen):
    call: Call
    transcript: Transcript
    objections: list[Objection] = []
    competitors: list[CompetitorMention] = []
    messages: list[MessageUse] = []
    engine: str
    usage: LLMUsage | None = None
    note: str | None = None  # reported in the run summary (e.g. another language)

    @property
    def findings(self) -> list[Finding]:
        return [*self.objections, *self.competitors, *self.messages]


class FlatFinding(_Frozen):
    """The stable export format: one finding a line (`winloss export findings --format jsonl`)."""

    call_id: str
    kind: FindingKind
    label: str
    status: str | None = None
    utterance_index: int
    start: float
    end: float
    role: Role
    quote: str
    engine: str
    confidence: float
    answered: bool | None = None
    accepted: bool | None = None
    context: str | None = None

    @classmethod
    def of(cls, finding: Finding) -> FlatFinding:
        ev = finding.evidence
        return cls(
            call_id=ev.call_id,
            kind=finding.kind,
            label=finding.label,
            status=finding.status.value if isinstance(finding, MessageUse) else None,
            utterance_index=ev.utterance_index,
            start=ev.start,
            end=ev.end,
            role=ev.role,
            quote=ev.quote,
            engine=finding.engine,
            confidence=round(finding.confidence, 4),
            answered=getattr(finding, "answered", None),
            accepted=getattr(finding, "accepted", None),
            context=getattr(finding, "context", None),
        )


class CallOutcome(_Frozen):
    """What happened to one input in a batch: analysed, skipped as unchanged, or failed and why; or, for a call
    stored from the same manifest or folder that this run no longer found, missing."""

    path: str
    status: Literal["analysed", "unchanged", "failed", "missing"]
    call_id: str | None = None
    problem: str | None = None
    note: str | None = None  # e.g. the call is in another language
    findings: int = 0
    seconds: float = 0.0


class Outcomes(list[CallOutcome]):
    """A run's outcomes, one per input (and one per missing call), with warnings about the inputs themselves:
    duplicate manifest or deal rows, deals the manifest names that no deals file holds."""

    def __init__(self, outcomes: Iterable[CallOutcome] = (), warnings: Iterable[str] = ()):
        super().__init__(outcomes)
        self.warnings = list(warnings)


ANY_LABEL = "*"  # a verdict about the kind itself: "not an objection at all", or "an objection, category unknown"


class Label(_Frozen):
    """A person's verdict on one sentence: is it a finding of this kind and label (category or message id)?

    `label = "*"` judges the kind alone. "No, that is a timing objection" is two labels: (price, no), (timing, yes).
    The sentence's text is kept with the label, so the learner trains from labels alone and a label still finds its
    sentence when the call is analysed again."""

    call_id: str
    utterance_index: int = Field(ge=0)
    text: str = Field(min_length=1)
    kind: FindingKind
    label: str = Field(min_length=1)
    verdict: bool
    source: Literal["review", "suggest", "import", "page"] = "review"
    who: str | None = None
    at: dt.datetime | None = None
