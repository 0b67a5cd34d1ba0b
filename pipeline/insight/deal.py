"""One deal as a story: its calls in order, each objection raised and whether the rep answered it, the
competitors the customer named, the playbook messages delivered (or contradicted, or never), the next steps agreed,
and the outcome. Built from the store; nothing is analysed again."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from pydantic import BaseModel
from winloss.pipeline.errors import NotFoundError
from winloss.pipeline.insight.summary import next_steps
from winloss.pipeline.models import FindingKind, FlatFinding, Role, mmss
from winloss.pipeline.playbook import Playbook
from winloss.pipeline.render.callpage import recording_of
from winloss.pipeline.render.links import MediaLinks
from winloss.pipeline.render.templating import render_template
from winloss.pipeline.storage.rows import CallRow
from winloss.pipeline.storage.store import Store


class Said(BaseModel):
    """One finding as the deal view shows it: what, when and who, in the speaker's words."""

    call_id: str
    label: str
    at: str
    start: float
    role: Role
    quote: str
    status: str | None = None
    answered: bool | None = None  # objections: the rep addressed it in the next turns (None: not judged)
    accepted: bool | None = None


class DealCall(BaseModel):
    call_id: str
    path: str
    date: dt.date | None
    rep: str | None
    duration: float
    objections: list[Said]
    competitors: list[Said]  # customer-said mentions; a rep naming a rival is positioning, not an encounter
    messages: list[Said]
    next_steps: list[Said]


class ObjectionTally(BaseModel):
    """An objection category over the whole deal. `handled` follows the report's rule: every instance answered."""

    label: str
    raised: int
    answered: int
    handled: bool


class DealView(BaseModel):
    deal_id: str
    outcome: str
    amount: float | None = None
    stage: str | None = None
    close_date: dt.date | None = None
    account: str | None = None
    calls: list[DealCall]
    objections: list[ObjectionTally]
    competitors: list[str]
    messages_delivered: list[str]
    messages_contradicted: list[str]
    messages_missed: list[str]


def _said(f: FlatFinding) -> Said:
    return Said(call_id=f.call_id, label=f.label, at=mmss(f.start), start=f.start, role=f.role, quote=f.quote,
                status=f.status, answered=f.answered, accepted=f.accepted)


def _call(store: Store, row: CallRow) -> DealCall:
    found = store.findings(row.call_id)
    by_kind = {k: [_said(f) for f in found if f.kind == k] for k in FindingKind}
    steps = [Said(call_id=row.call_id, label=m.label, at=m.at, start=m.start, role=m.role, quote=m.quote,
                  status=m.detail or None) for m in next_steps(store.transcript(row.call_id).utterances)]
    return DealCall(call_id=row.call_id, path=row.path, date=row.date, rep=row.rep,
                    duration=row.duration, objections=by_kind[FindingKind.objection],
                    competitors=[s for s in by_kind[FindingKind.competitor] if s.role != Role.rep],
                    messages=by_kind[FindingKind.message], next_steps=steps)


def _tallies(calls: list[DealCall]) -> list[ObjectionTally]:
    raised: dict[str, list[Said]] = {}
    for c in calls:
        for o in c.objections:
            raised.setdefault(o.label, []).append(o)
    return [ObjectionTally(label=label, raised=len(items), answered=sum(o.answered is True for o in items),
                           handled=all(o.answered is True for o in items))
            for label, items in sorted(raised.items(), key=lambda kv: (-len(kv[1]), kv[0]))]


def _unique(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


def deal_view(store: Store, deal_id: str, playbook: Playbook) -> DealView:
    """The deal's view; NotFoundError when neither the CRM import nor any call knows the deal."""
    deal = store.deals_by_id().get(deal_id)
    rows = [r for r in store.list_calls() if r.deal_id == deal_id]  # ordered by date, then path
    if deal is None and not rows:
        raise NotFoundError(f"no deal {deal_id!r} in the store; `winloss deals import` adds deals and `winloss "
                            f"calls --json` shows each call's deal")
    calls = [_call(store, r) for r in rows]
    messages = [m for c in calls for m in c.messages]
    delivered = _unique([m.label for m in messages if m.status != "contradicted"])
    return DealView(
        deal_id=deal_id, outcome=deal.outcome.value if deal else "unknown", amount=deal.amount if deal else None,
        stage=deal.stage if deal else None, close_date=deal.close_date if deal else None,
        account=next((r.account for r in rows if r.account), None), calls=calls, objections=_tallies(calls),
        competitors=_unique([s.label for c in calls for s in c.competitors]), messages_delivered=delivered,
        messages_contradicted=_unique([m.label for m in messages if m.status == "contradicted"]),
        messages_missed=[m.id for m in playbook.messages if m.id not in delivered])


def render_html(view: DealView, links: MediaLinks | None = None) -> str:
    """The deal as one page; each time links the call's recording (or its transcript) at that second."""
    links = links or MediaLinks()
    hrefs = {c.call_id: links.href(recording_of(Path(c.path)) or c.path) for c in view.calls}
    return render_template("deal.html.j2", v=view, c={"links": hrefs},
                           names={c.call_id: Path(c.path).name for c in view.calls})
