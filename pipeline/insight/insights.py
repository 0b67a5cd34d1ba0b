"""Win/loss aggregates, computed in SQL: per objection category, competitor and message, the calls and
deals it appears in and how those deals ended, with the quotes that prove each row."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

import sqlalchemy as sa
from pydantic import BaseModel
from winloss.pipeline.insight.stats import Contrast, win_rate
from winloss.pipeline.models import FindingKind, Role, mmss
from winloss.pipeline.storage.rows import CallInPeriod, FindingRow
from winloss.pipeline.storage.store import Store, _period, calls, deals, findings


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
    path: str = ""


MIN_REVIEWS = 5  # fewer reviewed findings than this never make a row a fact


class Row(BaseModel):
    """One objection category, competitor or message variant (used, contradicted, missed) in the period."""

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
    contrast: Contrast | None = None  # closed deals with this row against closed deals without it
    handled: Contrast | None = None  # objections: deals where every instance was answered against the others
    encounter_rate: float | None = None  # share of the period's deals where it came up
    previous_calls: int | None = None  # the same row in the previous period of equal length
    previous_win_rate: float | None = None
    new: bool = False  # absent from the previous period
    quotes: list[Quote] = []
    reviewed: int = 0  # findings of this row's tracker that reviewers judged (over all time)
    precision: float | None = None  # their share judged right: the tracker's estimated precision; None = not reviewed

    @property
    def corrected_calls(self) -> float | None:
        """Calls corrected for the tracker's estimated precision: how many of them likely hold a true finding."""
        return None if self.precision is None else round(self.calls * self.precision, 1)

    def trusted(self, target: float) -> bool:
        """Reviewed enough to be stated as fact: at least MIN_REVIEWS findings judged, and the share judged right at
        or above the target."""
        return self.precision is not None and self.reviewed >= MIN_REVIEWS and self.precision >= target

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
    previous: Coverage | None = None
    min_sample: int
    alpha: float = 0.1
    target_precision: float = 0.8  # objection and message rows below it are leads, never facts
    objections: list[Row]
    competitors: list[Row]
    messages: list[Row]
    trend: list[dict] = []  # calls per week for the most frequent objections and competitors


# A message finding is "used" (delivered or paraphrased) or "contradicted"; other kinds have no variant.
VARIANT = sa.case((findings.c.kind != "message", ""),
                  (findings.c.status == "contradicted", "contradicted"), else_="used").label("variant")
# Statistics count what customers say about competitors; a rep naming one is not an encounter.
COUNTED = sa.or_(findings.c.kind != "competitor", findings.c.role != Role.rep.value)


def _month(store: Store):
    if store.engine.dialect.name == "sqlite":
        return sa.func.strftime("%Y-%m", calls.c.date)
    return sa.func.to_char(calls.c.date, "YYYY-MM")


def _week(store: Store):
    """ISO week of the call's date, e.g. 2026-W47, the same on both databases. SQLite before 3.46 has no %G/%V: the
    ISO week is the one of the date's Thursday (three days back, then forward to a Thursday), numbered by that
    Thursday's day of the year."""
    if store.engine.dialect.name == "sqlite":
        thursday = sa.func.date(calls.c.date, "-3 days", "weekday 4")
        number = (sa.cast(sa.func.strftime("%j", thursday), sa.Integer) - 1) / 7 + 1
        return sa.func.printf("%s-W%02d", sa.func.strftime("%Y", thursday), number)
    return sa.func.to_char(calls.c.date, 'IYYY-"W"IW')


def _aggregate(store: Store, since: dt.date | None, until: dt.date | None, by: str | None = None) -> list[dict]:
    """Per (kind, label, variant[, rep or month]): distinct calls and deals, and deals won, lost and open."""
    won = sa.func.count(sa.distinct(sa.case((deals.c.outcome == "won", calls.c.deal_id)))).label("won")
    lost = sa.func.count(sa.distinct(sa.case((deals.c.outcome == "lost", calls.c.deal_id)))).label("lost")
    opened = sa.func.count(sa.distinct(sa.case((deals.c.outcome == "open", calls.c.deal_id)))).label("open")
    extra = {"rep": sa.func.coalesce(calls.c.rep, "").label("rep"), "month": _month(store).label("month"),
             "week": _week(store).label("week")}
    columns = [findings.c.kind, findings.c.label, VARIANT] + ([extra[by]] if by else [])
    q = (sa.select(*columns, sa.func.count(sa.distinct(findings.c.call_id)).label("calls"),
                   sa.func.count(sa.distinct(calls.c.deal_id)).label("deals"), won, lost, opened)
         .select_from(findings.join(calls, findings.c.call_id == calls.c.call_id)
                      .outerjoin(deals, calls.c.deal_id == deals.c.deal_id))
         .where(COUNTED)
         .group_by(*columns))
    with store.engine.connect() as conn:
        return [dict(r) for r in conn.execute(_period(q, since, until)).mappings()]


def breakdown(store: Store, kind: str, by: str, since: dt.date | None, until: dt.date | None,
              min_sample: int) -> list[dict]:
    """The `winloss insights` table: one row per label (and variant) and per rep or month when asked."""
    rows = []
    reviews = store.review_counts() if kind != "competitor" else {}
    for g in _aggregate(store, since, until, None if by == "outcome" else by):
        if g["kind"] != kind:
            continue
        yes, no = reviews.get((kind, g["label"]), (0, 0))
        rows.append({**{k: v for k, v in g.items() if k != "kind"}, "win_rate": win_rate(g["won"], g["lost"]),
                     "claim": g["won"] + g["lost"] >= min_sample, "reviewed": yes + no,
                     "precision": share_right(yes, no)})
    rows.sort(key=lambda r: (r.get("rep") or r.get("month") or "", -r["calls"], r["label"], r["variant"]))
    return rows


def compute(store: Store, since: dt.date | None, until: dt.date | None, min_sample: int,
            quotes_per_row: int, alpha: float = 0.1, messages: list[str] | None = None,
            target_precision: float = 0.8) -> Insights:
    """The report's numbers. `messages`: the playbook's message ids, so a message never delivered still shows
    as missed in every deal."""
    groups = _aggregate(store, since, until)
    quotes = _quotes(store, since, until, quotes_per_row)
    traits = _traits(store, since, until)
    in_period = store.calls_in_period(since, until)
    coverage = _coverage(store, since, until, in_period=in_period)
    deal_outcome = {c.deal_id: c.outcome for c in in_period if c.deal_id}
    closed = {d: o for d, o in deal_outcome.items() if o in ("won", "lost")}

    def contrast(with_deals: set[str], among: set[str]) -> Contrast:
        without = among - with_deals
        return Contrast(with_won=sum(closed[d] == "won" for d in with_deals & among),
                        with_lost=sum(closed[d] == "lost" for d in with_deals & among),
                        without_won=sum(closed[d] == "won" for d in without),
                        without_lost=sum(closed[d] == "lost" for d in without), min_sample=min_sample, alpha=alpha)

    rows: dict[str, list[Row]] = defaultdict(list)
    for g in groups:
        key = (g["kind"], g["label"], g["variant"])
        deals_with = {t["deal_id"] for t in traits.get(key, []) if t["deal_id"]}
        row = Row(kind=g["kind"], label=g["label"], variant=g["variant"], calls=g["calls"], deals=g["deals"],
                  won=g["won"], lost=g["lost"], open=g["open"], win_rate=win_rate(g["won"], g["lost"]),
                  claim=g["won"] + g["lost"] >= min_sample, quotes=quotes.get(key, []),
                  contrast=contrast(deals_with, set(closed)),
                  encounter_rate=round(len(deals_with) / len(deal_outcome), 4) if deal_outcome else None)
        if g["kind"] == "objection":
            unhandled = {t["deal_id"] for t in traits[key] if t["deal_id"] and not t["answered"]}
            row.handled = contrast((deals_with & set(closed)) - unhandled, deals_with & set(closed))
        rows[g["kind"]].append(row)
    rows["message"] += _missed(traits, messages, deal_outcome, in_period, contrast, min_sample)
    _reviews(store, [*rows["objection"], *rows["message"]])
    previous = _previous(store, since, until, rows)
    for kind_rows in rows.values():
        kind_rows.sort(key=lambda r: (-r.calls, r.label, r.variant))
    top = {(r.kind, r.label) for r in rows["objection"][:4] + rows["competitor"][:3]}
    trend = sorted(({"week": g["week"], "kind": g["kind"], "label": g["label"], "calls": g["calls"]}
                    for g in _aggregate(store, since, until, "week") if (g["kind"], g["label"]) in top and g["week"]),
                   key=lambda t: (t["week"], t["kind"], t["label"]))
    return Insights(generated_at=dt.datetime.now(dt.UTC).replace(microsecond=0), min_sample=min_sample, alpha=alpha,
                    target_precision=target_precision,
                    coverage=coverage, previous=previous, objections=rows["objection"],
                    competitors=rows["competitor"], messages=rows["message"], trend=trend)


def share_right(yes: int, no: int) -> float | None:
    """The share of reviewed findings judged right (the tracker's estimated precision), None when none was."""
    return round(yes / (yes + no), 2) if yes + no else None


def _reviews(store: Store, rows: list[Row]) -> None:
    """Each row's estimated precision from reviewers' verdicts on its tracker's findings."""
    counts = store.review_counts()
    for row in rows:
        if row.variant == "missed":
            continue
        yes, no = counts.get((row.kind.value, row.label), (0, 0))
        row.reviewed = yes + no
        row.precision = share_right(yes, no)


def _traits(store: Store, since, until) -> dict[tuple, list[dict]]:
    """Per (kind, label, variant): the calls it is in, with their deal and whether every objection was answered."""
    answered = sa.func.min(sa.case((findings.c.answered.is_(True), 1), else_=0)).label("answered")
    q = (sa.select(findings.c.kind, findings.c.label, VARIANT, findings.c.call_id, calls.c.deal_id, answered)
         .select_from(findings.join(calls, findings.c.call_id == calls.c.call_id))
         .where(COUNTED)
         .group_by(findings.c.kind, findings.c.label, VARIANT, findings.c.call_id, calls.c.deal_id))
    out: dict[tuple, list[dict]] = defaultdict(list)
    with store.engine.connect() as conn:
        for r in conn.execute(_period(q, since, until)).mappings():
            out[(r["kind"], r["label"], r["variant"])].append(dict(r))
    # A deal counts as handled only if every call's instances were: fold calls into their deal.
    for items in out.values():
        unanswered = {t["deal_id"] for t in items if not t["answered"]}
        for t in items:
            t["answered"] = t["deal_id"] not in unanswered
    return out


def _missed(traits: dict[tuple, list[dict]], messages: list[str] | None, deal_outcome: dict[str, str],
            in_period: list[CallInPeriod], contrast, min_sample: int) -> list[Row]:
    """Per message: the calls and deals where it was neither delivered nor contradicted."""
    labels = sorted(set(messages or []) | {k[1] for k in traits if k[0] == "message"})
    closed = {d for d, o in deal_outcome.items() if o in ("won", "lost")}
    out = []
    for label in labels:
        seen_calls = {t["call_id"] for v in ("used", "contradicted") for t in traits.get(("message", label, v), [])}
        seen_deals = {t["deal_id"] for v in ("used", "contradicted") for t in traits.get(("message", label, v), [])}
        missed_calls = [c for c in in_period if c.call_id not in seen_calls]
        missed_deals = set(deal_outcome) - seen_deals
        if not missed_calls:
            continue
        outcomes = [deal_outcome[d] for d in missed_deals]
        won, lost = outcomes.count("won"), outcomes.count("lost")
        out.append(Row(kind="message", label=label, variant="missed", calls=len(missed_calls),
                       deals=len(missed_deals), won=won, lost=lost, open=outcomes.count("open"),
                       win_rate=win_rate(won, lost), claim=won + lost >= min_sample,
                       contrast=contrast(missed_deals, closed),
                       encounter_rate=round(len(missed_deals) / len(deal_outcome), 4) if deal_outcome else None))
    return out


def _previous(store: Store, since, until, rows: dict[str, list[Row]]) -> Coverage | None:
    """Fill each row's figures for the period of the same length just before this one; mark new themes."""
    if not since or not until:
        return None
    days = (until - since).days + 1
    p_since, p_until = since - dt.timedelta(days=days), since - dt.timedelta(days=1)
    before = {(g["kind"], g["label"], g["variant"]): g for g in _aggregate(store, p_since, p_until)}
    for kind_rows in rows.values():
        for row in kind_rows:
            if row.variant == "missed":
                continue
            g = before.get((row.kind, row.label, row.variant))
            row.previous_calls = g["calls"] if g else 0
            row.previous_win_rate = win_rate(g["won"], g["lost"]) if g else None
            row.new = g is None
    return _coverage(store, p_since, p_until, with_failures=False)


def _quotes(store: Store, since, until, per_row: int) -> dict[tuple, list[Quote]]:
    """The best quotes per row: most confident first, customers' words first, one per call."""
    by_key: dict[tuple, list[FindingRow]] = defaultdict(list)
    for r in store.finding_rows(since, until):
        if r.kind == "competitor" and r.role == Role.rep.value:
            continue
        v = "" if r.kind != "message" else ("contradicted" if r.status == "contradicted" else "used")
        by_key[(r.kind.value, r.label, v)].append(r)
    out = {}
    for key, items in by_key.items():
        items.sort(key=lambda r: (r.role != Role.customer.value, -r.confidence, r.date or dt.date.min))
        picked, seen = [], set()
        for r in items:
            if r.call_id in seen:
                continue
            seen.add(r.call_id)
            picked.append(Quote(call_id=r.call_id, call=r.path.rsplit("/", 1)[-1], rep=r.rep,
                                date=r.date, at=mmss(r.start), start=r.start, role=r.role,
                                speaker=(r.rep or "rep") if r.role == Role.rep.value else r.role,
                                outcome=r.outcome, text=r.quote, path=r.path))
            if len(picked) == per_row:
                break
        out[key] = picked
    return out


def _coverage(store: Store, since, until, with_failures: bool = True, in_period: list[CallInPeriod] | None = None
              ) -> Coverage:
    in_period = store.calls_in_period(since, until) if in_period is None else in_period
    by_deal = {c.deal_id: c.outcome for c in in_period if c.deal_id}
    outcomes = list(by_deal.values())
    run = store.last_run() if with_failures else None
    return Coverage(since=since, until=until, calls=len(in_period), deals=len(by_deal),
                    won=outcomes.count("won"), lost=outcomes.count("lost"), open=outcomes.count("open"),
                    baseline_win_rate=win_rate(outcomes.count("won"), outcomes.count("lost")),
                    transcribers=sorted({c.transcriber for c in in_period}),
                    extractors=sorted({c.extractor for c in in_period}),
                    failed=[p.model_dump() for p in run.failures] if run else [])
