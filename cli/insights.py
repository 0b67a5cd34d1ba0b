"""`winloss insights objections|competitors|messages [--by outcome|rep|month]`: the report's numbers as tables."""

from __future__ import annotations

from enum import StrEnum

import typer
from rich.table import Table
from winloss.pipeline.errors import WinlossError

from .search import _date, period
from .state import cells, console, fail, print_json, state


class What(StrEnum):
    objections = "objections"
    competitors = "competitors"
    messages = "messages"


class By(StrEnum):
    outcome = "outcome"
    rep = "rep"
    month = "month"


KIND = {What.objections: "objection", What.competitors: "competitor", What.messages: "message"}


def register(app: typer.Typer) -> None:
    @app.command()
    def insights(ctx: typer.Context, what: What = typer.Argument(..., help="objections, competitors or messages"),
                 by: By = typer.Option(By.outcome, help="break the counts down by deal outcome, rep or month"),
                 since: str = typer.Option(None, help="calls on or after (YYYY-MM-DD)"),
                 until: str = typer.Option(None, help="calls on or before (YYYY-MM-DD)"),
                 as_json: bool = typer.Option(False, "--json")) -> None:
        """Counts computed in SQL (the numbers the report uses): calls, deals, won, lost, open, win rate."""
        from winloss.pipeline.insight.insights import breakdown

        st = state(ctx)
        start, end = period(_date(since), _date(until))
        try:
            rows = breakdown(st.store, KIND[what], by.value, start, end, st.settings.report.min_sample)
        except WinlossError as exc:
            raise fail(exc) from None
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
            rate = "–" if r["win_rate"] is None else f"{r['win_rate']:.0%}" + ("" if r["claim"] else " (n<min)")
            precision = ("–" if what is What.competitors else "not reviewed" if r["precision"] is None
                         else f"{r['precision']:.2f} of {r['reviewed']}")
            table.add_row(*cells(*(r[g] or "–" for g in group), r["label"], r["variant"] or "–", r["calls"],
                                 r["deals"], r["won"], r["lost"], r["open"], rate, precision))
        console.print(table)

    @app.command()
    def reps(ctx: typer.Context, since: str = typer.Option(None, help="calls on or after (YYYY-MM-DD)"),
             until: str = typer.Option(None, help="calls on or before (YYYY-MM-DD)"),
             as_json: bool = typer.Option(False, "--json")) -> None:
        """Rep scorecards: calls, metrics against the team median, message adherence, objections answered,
        contradictions and win rate (no claim below report.min_sample closed deals)."""
        from winloss.pipeline.insight.scorecard import scorecards

        st = state(ctx)
        start, end = period(_date(since), _date(until))
        try:
            cards, team = scorecards(st.store, st.playbook, start, end, st.settings.report.min_sample)
        except WinlossError as exc:
            raise fail(exc) from None
        if as_json:
            print_json({"team_median": team, "reps": [c.model_dump(mode="json") for c in cards]})
            return
        if not cards:
            console.print("no calls with a rep in the store for this period")
            return
        table = Table("rep", "calls", "talk ratio", "questions/h", "patience s", "adherence", "answered",
                      "contradictions", "win rate", title="reps",
                      caption=f"talk ratio, questions and patience: rep median (difference to the team median); "
                              f"win rates below {st.settings.report.min_sample} closed deals are not claims")

        def cell(card, key: str, fmt: str) -> str:
            value, delta = card.metrics[key], card.vs_team[key]
            return "–" if value is None else f"{value:{fmt}} ({delta:+{fmt}})"

        for c in cards:
            rate = "–" if c.win_rate is None else f"{c.win_rate:.0%} ({c.won}/{c.won + c.lost})" + (
                "" if c.claim else " n<min")
            table.add_row(*cells(c.rep, c.calls, cell(c, "talk_ratio", ".2f"), cell(c, "rep_questions_per_hour", ".0f"),
                                 cell(c, "patience", ".1f"),
                                 "–" if c.message_adherence is None else f"{c.message_adherence:.0%}",
                                 "–" if c.answered_rate is None else f"{c.answered_rate:.0%} of {c.objections}",
                                 c.contradictions, rate))
        console.print(table)
