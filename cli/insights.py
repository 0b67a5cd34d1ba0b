"""`winloss insights objections|competitors|messages [--by outcome|rep|month]`: the report's numbers as tables."""

from __future__ import annotations

from enum import StrEnum

import typer
from rich.table import Table

from .options import parse_date, period
from .state import cells, console, percent, print_json, state


class What(StrEnum):
    objections = "objections"
    competitors = "competitors"
    messages = "messages"


class By(StrEnum):
    outcome = "outcome"
    rep = "rep"
    month = "month"


KIND = {What.objections: "objection", What.competitors: "competitor", What.messages: "message"}


def insights(ctx: typer.Context, what: What = typer.Argument(..., help="objections, competitors or messages"),
             by: By = typer.Option(By.outcome, help="break the counts down by deal outcome, rep or month"),
             since: str = typer.Option(None, metavar="YYYY-MM-DD", help="calls on or after this date"),
             until: str = typer.Option(None, metavar="YYYY-MM-DD", help="calls on or before this date"),
             as_json: bool = typer.Option(False, "--json", help="print the rows as JSON")) -> None:
    """Counts computed in SQL (the numbers the report uses): calls, deals, won, lost, open, win rate.

    Example: winloss insights objections --by rep --since 2026-10-01 --json
    """
    from winloss.pipeline.insight.insights import breakdown

    st = state(ctx)
    start, end = period(parse_date(since), parse_date(until))
    rows = breakdown(st.store, KIND[what], by.value, start, end, st.settings.report.min_sample)
    if as_json:
        print_json(rows)
        return
    if not rows:
        console.print(f"no {what.value} in the store for this period")
        return
    group = [] if by is By.outcome else [by.value]
    table = Table(*group, "label", "variant", "calls", "deals", "won", "lost", "open", "win rate",
                  "precision (reviewed)", title=f"{what.value} by {by.value}",
                  caption=f"win rates below {st.settings.report.min_sample} closed deals are not shown as claims; "
                          f"precision: share of the reviewed findings judged right (`winloss review`)")
    for r in rows:
        rate = percent(r["win_rate"]) + ("" if r["win_rate"] is None or r["claim"] else " (n<min)")
        precision = ("–" if what is What.competitors else "not reviewed" if r["precision"] is None
                     else f"{r['precision']:.2f} of {r['reviewed']}")
        table.add_row(*cells(*(r[g] or "–" for g in group), r["label"], r["variant"] or "–", r["calls"],
                             r["deals"], r["won"], r["lost"], r["open"], rate, precision))
    console.print(table)


def register(app: typer.Typer) -> None:
    app.command()(insights)
