"""`winloss reps`: rep scorecards against the team median."""

from __future__ import annotations

import typer
from rich.table import Table

from .options import parse_date, period
from .state import cells, console, percent, print_json, state


def reps(ctx: typer.Context, since: str = typer.Option(None, metavar="YYYY-MM-DD", help="calls on or after this date"),
         until: str = typer.Option(None, metavar="YYYY-MM-DD", help="calls on or before this date"),
         as_json: bool = typer.Option(False, "--json", help="print the scorecards as JSON")) -> None:
    """Rep scorecards: calls, metrics against the team median, message adherence, objections answered,
    contradictions and win rate (no claim below report.min_sample closed deals).

    Example: winloss reps --since 2026-10-01 --json
    """
    from winloss.pipeline.insight.scorecard import scorecards

    st = state(ctx)
    start, end = period(parse_date(since), parse_date(until))
    cards, team = scorecards(st.store, st.playbook, start, end, st.settings.report.min_sample)
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
        rate = "–" if c.win_rate is None else f"{percent(c.win_rate)} ({c.won}/{c.won + c.lost})" + (
            "" if c.claim else " n<min")
        table.add_row(*cells(c.rep, c.calls, cell(c, "talk_ratio", ".0%"), cell(c, "rep_questions_per_hour", ".0f"),
                             cell(c, "patience", ".1f"), percent(c.message_adherence),
                             "–" if c.answered_rate is None else f"{percent(c.answered_rate)} of {c.objections}",
                             c.contradictions, rate))
    console.print(table)


def register(app: typer.Typer) -> None:
    app.command()(reps)
