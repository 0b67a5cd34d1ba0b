"""What the store's read queries return: typed rows, so no caller depends on a SQL column name.

Each model's fields are in the order of its query's columns, so `model_dump(mode="json")` prints what the plain
rows printed before (the `--json` outputs and exports keep their shape).
"""

from __future__ import annotations

import datetime as dt
import json

from pydantic import BaseModel, ConfigDict, field_validator
from winloss.pipeline.models import Deal, FlatFinding
from winloss.pipeline.vocab import Outcome


class _Row(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class CallRow(_Row):
    """A stored call as `winloss calls` lists it: with its deal's outcome as it is now and its number of findings."""

    call_id: str
    path: str
    date: dt.date | None
    rep: str | None
    account: str | None
    deal_id: str | None
    duration: float
    channels: int
    outcome: Outcome | None
    findings: int


class CallInPeriod(_Row):
    """A call the report covers: its deal's outcome ("unknown" without a deal) and the engines that analysed it."""

    call_id: str
    deal_id: str | None
    date: dt.date | None
    transcriber: str
    extractor: str
    outcome: str  # an Outcome, or "unknown"


class CallFacts(_Row):
    """What a search hit shows of its call, as it is now; only the id when the call is no longer stored."""

    call_id: str
    path: str | None = None
    date: dt.date | None = None
    rep: str | None = None
    deal_id: str | None = None
    outcome: Outcome | None = None


class DealRow(Deal):
    """A deal with its number of stored calls (a deal from the CRM may have none yet)."""

    calls: int


class ExportFindingRow(FlatFinding):
    """A finding with its call's date, rep, account and deal, and the deal's outcome as it is now."""

    date: dt.date | None
    rep: str | None
    account: str | None
    deal_id: str | None
    outcome: Outcome | None


class FindingRow(FlatFinding):
    """A finding joined to its call and deal (outcome "unknown" without one): what the report aggregates."""

    finding_id: str
    date: dt.date | None
    rep: str | None
    deal_id: str | None
    path: str
    outcome: str  # an Outcome, or "unknown"


class Problem(_Row):
    """One input a run could not analyse, and why."""

    path: str
    problem: str | None


class RunRow(_Row):
    """One `analyze` run: when, with which engines, and how its inputs went (failures and warnings parsed)."""

    run_id: int
    started_at: dt.datetime
    finished_at: dt.datetime | None
    transcriber: str | None
    extractor: str | None
    fingerprint: str | None
    analysed: int | None
    unchanged: int | None
    failed: int | None
    failures: list[Problem]
    missing: int | None
    warnings: list[str]

    @field_validator("failures", "warnings", mode="before")
    @classmethod
    def _from_json(cls, value: object) -> object:
        """The store keeps both lists as JSON text; an unfinished run may have none yet."""
        if value is None:
            return []
        return json.loads(value) if isinstance(value, str) else value
