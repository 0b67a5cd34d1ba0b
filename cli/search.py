"""Marketing's questions: `search` (quotes by meaning) and `ask` (evidence grouped into themes)."""

from __future__ import annotations

import typer
from rich.table import Table
from winloss.pipeline.vocab import FindingKind, Outcome, Role, Scope

from .options import parse_date, period
from .state import cells, console, percent, plain, print_json, state


def _filters(kind, label, role, outcome, competitor, rep, since, until, speaker=None):
    from winloss.pipeline.insight.queries import Filters

    since, until = period(parse_date(since), parse_date(until))
    return Filters(kind=kind, label=label, role=role, outcome=outcome, competitor=competitor, rep=rep,
                   since=since, until=until, speaker=speaker)


def _hits_table(hits, title: str | None = None) -> Table:
    table = Table("score", "call", "at", "date", "rep", "outcome", "speaker", "finding", "quote", title=title)
    for h in hits:
        finding = f"{h.kind}:{h.label}" + (f"/{h.status}" if h.status else "") if h.kind else "–"
        table.add_row(*cells(f"{h.score:.2f}", h.call_id[:8], h.at, h.date or "–", h.rep or "–", h.outcome or "–",
                             h.role, finding, h.quote))
    return table


def search(ctx: typer.Context, query: str = typer.Argument(..., help="what to look for, in plain words; "
                                                      "\"quoted phrases\" must appear as written"),
           kind: FindingKind = typer.Option(None, help="kind of finding (default: any)"),
           label: str = typer.Option(None, help="objection category, competitor or message id"),
           role: Role = typer.Option(None, help="who said it"),
           outcome: Outcome = typer.Option(None, help="how the call's deal ended"),
           competitor: str = typer.Option(None, help="only calls in which the customer named this competitor"),
           rep: str = typer.Option(None, help="only this rep's calls"),
           speaker: str = typer.Option(None, help="only what this person said (a speaker's name, or a rep's)"),
           since: str = typer.Option(None, metavar="YYYY-MM-DD", help="calls on or after this date"),
           until: str = typer.Option(None, metavar="YYYY-MM-DD", help="calls on or before this date"),
           scope: Scope = typer.Option(Scope.findings, help="search findings, or every utterance"),
           limit: int = typer.Option(10, min=1, max=200, help="how many hits"),
           as_json: bool = typer.Option(False, "--json", help="print the hits as JSON")) -> None:
    """Quotes that match QUERY, in meaning or as written, with call, mm:ss, speaker and deal outcome; hits below
    search.min_score are dropped as unrelated.

    Example: winloss search '"too expensive"' --speaker Tom --outcome lost
    """
    from winloss.pipeline.insight.queries import search as run_search

    st = state(ctx)
    filters = _filters(kind, label, role, outcome, competitor, rep, since, until, speaker)
    hits = run_search(st.store, st.index, query, filters, limit=limit, scope=scope, tuning=st.settings.search)
    if as_json:
        print_json([h.model_dump(mode="json") for h in hits])
    elif not hits:
        console.print("no results")  # not an error: exit 0
    else:
        console.print(_hits_table(hits))


def ask(ctx: typer.Context, question: str = typer.Argument(..., help="a question about the calls"),
        outcome: Outcome = typer.Option(None, help="override the outcome read from the question"),
        competitor: str = typer.Option(None, help="override the competitor read from the question"),
        since: str = typer.Option(None, metavar="YYYY-MM-DD", help="calls on or after this date"),
        until: str = typer.Option(None, metavar="YYYY-MM-DD", help="calls on or before this date"),
        limit: int = typer.Option(30, min=5, max=200, help="how many findings to gather as evidence"),
        llm: bool = typer.Option(None, "--llm/--offline", help="write an answer with the LLM (default: "
                                                               "llm.enabled) or show the evidence only"),
        as_json: bool = typer.Option(False, "--json", help="print the evidence and answer as JSON")) -> None:
    """Evidence for QUESTION, grouped into themes with deal outcomes; with an LLM, a short cited answer.

    Example: winloss ask "why do we lose to Quotient?" --json
    """
    from winloss.pipeline.insight.queries import Filters, llm_answer
    from winloss.pipeline.insight.queries import ask as run_ask

    st = state(ctx)
    start, end = period(parse_date(since), parse_date(until))
    base = Filters(outcome=outcome, competitor=competitor, since=start, until=end)
    answer = run_ask(st.store, st.index, question, st.playbook, base, limit=limit)
    if llm if llm is not None else st.settings.llm.enabled:
        answer = llm_answer(answer, st.llm_client(), st.playbook.company.name, st.llm_redactor())
    if as_json:
        print_json(answer.model_dump(mode="json"))
        return
    f = answer.filters
    scope = ", ".join(f"{k} {v}" for k, v in f.model_dump(exclude_defaults=True).items()) or "all calls"
    console.print(f"[bold]{plain(question)}[/]  [dim]({plain(scope)}; {len(answer.evidence)} findings)[/]",
                  highlight=False)
    if not answer.evidence:
        console.print("no evidence found")
        return
    if answer.text:
        console.print(f"\n{plain(answer.text)}\n", highlight=False)
        if answer.dropped_sentences:
            console.print(f"[dim]{answer.dropped_sentences} sentence(s) without a valid citation removed[/]")
    table = Table("theme", "calls", "won", "lost", "open", "win rate", "best quote")
    for t in answer.themes:
        best = t.quotes[0]
        table.add_row(*cells(f"{t.kind}:{t.label}", t.calls, t.won, t.lost, t.open, percent(t.win_rate)),
                      f"“{plain(best.quote)}” [dim]{best.call_id[:8]} @ {best.at}, "
                      f"{best.outcome or 'no outcome'}[/]")
    console.print(table)


def register(app: typer.Typer) -> None:
    app.command()(search)
    app.command()(ask)
