"""Rep scorecards: per rep over a period, call metrics against the team median, message adherence, objection
handling, contradictions and win rate, with the report's minimum-sample rule on the win rate."""

from __future__ import annotations

import datetime as dt
from statistics import median

from pydantic import BaseModel
from winloss.pipeline.insight.metrics import CallMetrics, compute
from winloss.pipeline.insight.stats import wilson, win_rate
from winloss.pipeline.playbook import Playbook
from winloss.pipeline.storage.store import Store

COMPARED = ("talk_ratio", "rep_questions_per_hour", "patience", "longest_monologue_rep", "interactivity")


class RepCard(BaseModel):
    rep: str
    calls: int
    deals: int
    won: int
    lost: int
    win_rate: float | None
    win_interval: tuple[float, float] | None
    claim: bool  # enough closed deals to show the win rate as a claim
    metrics: dict[str, float | None]  # medians over the rep's calls
    vs_team: dict[str, float | None]  # rep median minus team median
    message_adherence: float | None  # mean share of the playbook's messages delivered per call
    objections: int
    answered_rate: float | None
    contradictions: int


def _median(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return round(median(present), 2) if present else None


def scorecards(store: Store, playbook: Playbook, since: dt.date | None, until: dt.date | None,
               min_sample: int) -> tuple[list[RepCard], dict[str, float | None]]:
    calls = [c for c in store.list_calls() if c.rep and (since is None or (c.date and c.date >= since))
             and (until is None or (c.date and c.date <= until))]
    per_call: dict[str, CallMetrics] = {c.call_id: compute(store.transcript(c.call_id)) for c in calls}
    findings = {c.call_id: store.findings(c.call_id) for c in calls}
    team = {k: _median([getattr(per_call[c.call_id], k) for c in calls]) for k in COMPARED}
    n_messages = len(playbook.messages)
    cards = []
    for rep in sorted({c.rep for c in calls}):
        mine = [c for c in calls if c.rep == rep]
        deals = {c.deal_id: c.outcome for c in mine if c.deal_id}
        won, lost = sum(o == "won" for o in deals.values()), sum(o == "lost" for o in deals.values())
        found = [f for c in mine for f in findings[c.call_id]]
        objections = [f for f in found if f.kind.value == "objection"]
        judged = [f.answered for f in objections if f.answered is not None]
        delivered = [len({f.label for f in findings[c.call_id] if f.kind.value == "message"
                          and f.status != "contradicted"}) / n_messages for c in mine] if n_messages else []
        metrics = {k: _median([getattr(per_call[c.call_id], k) for c in mine]) for k in COMPARED}
        ci = wilson(won, won + lost)
        cards.append(RepCard(
            rep=rep, calls=len(mine), deals=len(deals), won=won, lost=lost,
            win_rate=win_rate(won, lost),
            win_interval=(round(ci[0], 4), round(ci[1], 4)) if ci else None, claim=won + lost >= min_sample,
            metrics=metrics,
            vs_team={k: round(metrics[k] - team[k], 2) if metrics[k] is not None and team[k] is not None else None
                     for k in COMPARED},
            message_adherence=round(sum(delivered) / len(delivered), 4) if delivered else None,
            objections=len(objections), answered_rate=round(sum(judged) / len(judged), 4) if judged else None,
            contradictions=sum(f.kind.value == "message" and f.status == "contradicted" for f in found)))
    cards.sort(key=lambda c: (-(c.message_adherence or 0), -(c.answered_rate or 0), c.contradictions, c.rep))
    return cards, team
