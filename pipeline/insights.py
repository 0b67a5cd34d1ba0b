"""Win/loss aggregates, computed in SQL: per objection category, competitor and message, the calls and
deals it appears in and how those deals ended, with the quotes that prove each row."""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict

import sqlalchemy as sa
from pydantic import BaseModel

from .models import FindingKind, Role, mmss
from .store import Store, _period, calls, deals, findings


class Quote(BaseModel):
    call_id: str
    call: str
    rep: str | None
    date: dt.date | None
    at: str
    start: float
    role: Role
    speaker: str
    outcome: str
    text: str


class Row(BaseModel):
    kind: FindingKind
    label: str
    variant: str = ""
    calls: int
    deals: int
    won: int
    lost: int
    open: int
    win_rate: float | None
    claim: bool
    quotes: list[Quote] = []

    @property
    def closed(self) -> int:
        return self.won + self.lost


class Coverage(BaseModel):
    since: dt.date | None
    until: dt.date | None
    calls: int
    deals: int
    won: int
    lost: int
    open: int
    baseline_win_rate: float | None
    transcribers: list[str]
    extractors: list[str]
    failed: list[dict] = []


class Insights(BaseModel):
    generated_at: dt.datetime
    coverage: Coverage
    min_sample: int
    objections: list[Row]
    competitors: list[Row]
    messages: list[Row]


def _rate(won: int, lost: int) -> float | None:
    return round(won / (won + lost), 4) if won + lost else None


def _month(store: Store):
    if store.engine.dialect.name == "sqlite":
        return sa.func.strftime("%Y-%m", calls.c.date)
    return sa.func.to_char(calls.c.date, "YYYY-MM")


def _aggregate(store: Store, since: dt.date | None, until: dt.date | None, by: str | None = None) -> list[dict]:
    """Per (kind, label, variant[, rep or month]): distinct calls and deals, and deals won, lost and open."""
    variant = sa.case((findings.c.kind != "message", ""),
                      (findings.c.status == "contradicted", "contradicted"), else_="used").label("variant")
    won = sa.func.count(sa.distinct(sa.case((deals.c.outcome == "won", calls.c.deal_id)))).label("won")
    lost = sa.func.count(sa.distinct(sa.case((deals.c.outcome == "lost", calls.c.deal_id)))).label("lost")
    opened = sa.func.count(sa.distinct(sa.case((deals.c.outcome == "open", calls.c.deal_id)))).label("open")
    extra = {"rep": sa.func.coalesce(calls.c.rep, "").label("rep"), "month": _month(store).label("month")}
    columns = [findings.c.kind, findings.c.label, variant] + ([extra[by]] if by else [])
    q = (sa.select(*columns, sa.func.count(sa.distinct(findings.c.call_id)).label("calls"),
                   sa.func.count(sa.distinct(calls.c.deal_id)).label("deals"), won, lost, opened)
         .select_from(findings.join(calls, findings.c.call_id == calls.c.call_id)
                      .outerjoin(deals, calls.c.deal_id == deals.c.deal_id))
         # Statistics count what customers say about competitors; a rep naming one is not an encounter.
         .where(sa.or_(findings.c.kind != "competitor", findings.c.role != Role.rep.value))
         .group_by(*columns))
    with store.engine.connect() as conn:
        return [dict(r) for r in conn.execute(_period(q, since, until)).mappings()]


def breakdown(store: Store, kind: str, by: str, since: dt.date | None, until: dt.date | None,
              min_sample: int) -> list[dict]:
    """The `winloss insights` table: one row per label (and variant) and per rep or month when asked."""
    rows = []
    for g in _aggregate(store, since, until, None if by == "outcome" else by):
        if g["kind"] != kind:
            continue
        rows.append({**{k: v for k, v in g.items() if k != "kind"}, "win_rate": _rate(g["won"], g["lost"]),
                     "claim": g["won"] + g["lost"] >= min_sample})
    rows.sort(key=lambda r: (r.get("rep") or r.get("month") or "", -r["calls"], r["label"], r["variant"]))
    return rows


def compute(store: Store, since: dt.date | None, until: dt.date | None, min_sample: int,
            quotes_per_row: int) -> Insights:
    groups = _aggregate(store, since, until)
    quotes = _quotes(store, since, until, quotes_per_row)
    rows: dict[str, list[Row]] = defaultdict(list)
    for g in groups:
        key = (g["kind"], g["label"], g["variant"])
        rows[g["kind"]].append(Row(kind=g["kind"], label=g["label"], variant=g["variant"], calls=g["calls"],
                                   deals=g["deals"], won=g["won"], lost=g["lost"], open=g["open"],
                                   win_rate=_rate(g["won"], g["lost"]), claim=g["won"] + g["lost"] >= min_sample,
                                   quotes=quotes.get(key, [])))
    for kind_rows in rows.values():
        kind_rows.sort(key=lambda r: (-r.calls, r.label, r.variant))
    return Insights(generated_at=dt.datetime.now(dt.UTC).replace(microsecond=0), min_sample=min_sample,
                    coverage=_coverage(store, since, until), objections=rows["objection"],
                    competitors=rows["competitor"], messages=rows["message"])


def _quotes(store: Store, since, until, per_row: int) -> dict[tuple, list[Quote]]:
    """The best quotes per row: most confident first, customers' words first, one per call."""
    by_key: dict[tuple, list[dict]] = defaultdict(list)
    for r in store.finding_rows(since, until):
        if r["kind"] == "competitor" and r["role"] == Role.rep.value:
            continue
        v = "" if r["kind"] != "message" else ("contradicted" if r["status"] == "contradicted" else "used")
        by_key[(r["kind"], r["label"], v)].append(r)
    out = {}
    for key, items in by_key.items():
        items.sort(key=lambda r: (r["role"] != Role.customer.value, -r["confidence"], r["date"] or dt.date.min))
        picked, seen = [], set()
        for r in items:
            if r["call_id"] in seen:
                continue
            seen.add(r["call_id"])
            picked.append(Quote(call_id=r["call_id"], call=r["path"].rsplit("/", 1)[-1], rep=r["rep"],
                                date=r["date"], at=mmss(r["start"]), start=r["start"], role=r["role"],
                                speaker=(r["rep"] or "rep") if r["role"] == Role.rep.value else r["role"],
                                outcome=r["outcome"], text=r["quote"]))
            if len(picked) == per_row:
                break
        out[key] = picked
    return out


def _coverage(store: Store, since, until) -> Coverage:
    in_period = store.calls_in_period(since, until)
    by_deal = {c["deal_id"]: c["outcome"] for c in in_period if c["deal_id"]}
    outcomes = list(by_deal.values())
    run = store.last_run()
    return Coverage(since=since, until=until, calls=len(in_period), deals=len(by_deal),
                    won=outcomes.count("won"), lost=outcomes.count("lost"), open=outcomes.count("open"),
                    baseline_win_rate=_rate(outcomes.count("won"), outcomes.count("lost")),
                    transcribers=sorted({c["transcriber"] for c in in_period}),
                    extractors=sorted({c["extractor"] for c in in_period}),
                    failed=json.loads(run["failures"]) if run and run["failures"] else [])
