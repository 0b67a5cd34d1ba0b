"""`winloss analyze` and `winloss demo`."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from winloss.pipeline.errors import WinlossError

from .state import EXAMPLES, SOME_FAILED, console, err_console, fail, plain, print_json, state

if TYPE_CHECKING:
    from winloss.pipeline.models import CallOutcome, Outcomes


def run_analysis(ctx: typer.Context, paths: list[Path], manifest: Path | None, deals: Path | None,
                 allow_outside: bool = False, prune: bool = False, wait_s: float = 0, quiet: bool = False) -> Outcomes:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
    from winloss.flows.analyze import analyze_calls

    st = state(ctx)
    with Progress(TextColumn("[bold]analysing"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  TextColumn("{task.description}"), console=err_console if quiet else console,
                  transient=False) as bar:
        task = bar.add_task("", total=None)

        def advance(outcome: CallOutcome) -> None:
            bar.update(task, advance=1, description=plain(f"{Path(outcome.path).name}: {outcome.status}"))

        return analyze_calls(st.settings, paths, manifest=manifest, deals=deals, on_progress=advance,
                             on_total=lambda n: bar.update(task, total=n), allow_outside=allow_outside, prune=prune,
                             wait_s=wait_s)


def print_outcomes(outcomes: Outcomes) -> None:
    counts = {s: sum(o.status == s for o in outcomes) for s in ("analysed", "unchanged", "failed", "missing")}
    console.print(f"{len(outcomes)} file(s): {counts['analysed']} analysed, {counts['unchanged']} unchanged, "
                  f"{counts['failed']} failed" + (f", {counts['missing']} missing" if counts["missing"] else ""))
    # escape: paths and problems are data, and redacted text holds [EMAIL]-style placeholders Rich reads as markup
    for o in outcomes:
        if o.status == "failed":
            console.print(f"  [red]failed[/] {plain(o.path)}: {plain(o.problem or '')}", highlight=False,
                          soft_wrap=True)
        elif o.status == "missing":
            console.print(f"  [yellow]missing[/] {plain(o.path)} (call {o.call_id}): {plain(o.problem or '')}",
                          highlight=False, soft_wrap=True)
        elif o.note:
            console.print(f"  [yellow]note[/] {plain(o.path)}: {plain(o.note)}", highlight=False, soft_wrap=True)
    for warning in getattr(outcomes, "warnings", []):
        console.print(f"  [yellow]warning[/] {plain(warning)}", highlight=False, soft_wrap=True)


def register(app: typer.Typer) -> None:
    @app.command()
    def analyze(ctx: typer.Context,
                paths: list[Path] = typer.Argument(None, help="audio files, .txt transcripts, or folders"),
                manifest: Path = typer.Option(None, "--manifest", help="calls.csv: path,date,rep,account,deal_id"),
                deals: Path = typer.Option(None, "--deals", help="deals.csv: deal_id,outcome,amount,close_date,"
                                                                 "stage,rep"),
                allow_outside: bool = typer.Option(False, "--allow-outside", help="let manifest rows name files "
                                                   "outside the manifest's folder"),
                prune: bool = typer.Option(False, "--prune", help="forget stored calls these inputs no longer "
                                           "list (reported as missing)"),
                wait: float = typer.Option(0, "--wait", min=0, help="seconds to wait for another run writing the "
                                           "same data dir (default: refuse at once)"),
                as_json: bool = typer.Option(False, "--json", help="print each file's outcome as JSON (progress "
                                             "goes to stderr)")) -> None:
        """Transcribe and analyse calls; store findings and index them. Unchanged calls are skipped.

        Exit codes: 0 done, 1 failure (nothing analysed), 2 usage, 3 some inputs failed (the others are stored)."""
        if not paths and not manifest:
            if deals is None:
                raise typer.BadParameter("give audio/transcript paths or --manifest (or --deals alone to update "
                                         "deal outcomes: the same as `winloss deals import`)")
            from .deals import import_deals, print_result

            try:  # outcomes only: no call to analyse, so nothing is analysed again
                result = import_deals(ctx, deals, "winloss", wait)
            except WinlossError as exc:
                raise fail(exc) from None
            if as_json:
                print_json({"deals": result.model_dump(mode="json")})
            else:
                print_result(result)
            return
        try:
            outcomes = run_analysis(ctx, paths or [], manifest, deals, allow_outside, prune, wait, quiet=as_json)
        except WinlossError as exc:
            raise fail(exc) from None
        if as_json:
            print_json({"files": [o.model_dump(mode="json") for o in outcomes],
                        "warnings": list(getattr(outcomes, "warnings", []))})
        else:
            print_outcomes(outcomes)
        if any(o.status == "failed" for o in outcomes):
            raise typer.Exit(SOME_FAILED)

    @app.command()
    def demo(ctx: typer.Context) -> None:
        """Run the whole loop on the bundled example calls and write a report."""
        from winloss.pipeline.insight import insights
        from winloss.pipeline.render.weekly import weekly_report

        manifest, deals = EXAMPLES / "calls.csv", EXAMPLES / "deals.csv"
        if not manifest.exists():
            raise fail(WinlossError(f"{manifest}: the demo corpus is missing; run `winloss demo` from a clone of "
                                    f"the winloss repository"))
        started = time.perf_counter()
        st = state(ctx)
        try:
            outcomes = run_analysis(ctx, [], manifest, deals)
            dates = [c["date"] for c in st.store.list_calls() if c["date"]]
            since, until = (min(dates), max(dates)) if dates else (None, None)
            path = weekly_report(st, since=since, until=until, fmt=["md", "html"])
            data = insights.compute(st.store, since, until, st.settings.report.min_sample, 1)
        except WinlossError as exc:
            raise fail(exc) from None
        print_outcomes(outcomes)
        for line in summary_lines(data, path, time.perf_counter() - started):
            console.print(line, highlight=False, soft_wrap=True)


def summary_lines(data, path: Path, seconds: float) -> list[str]:
    """The ten-line summary `winloss demo` prints under its run."""
    from winloss.pipeline.insight.narrative import pct

    def top(rows, n=3):
        return "; ".join(f"{plain(r.label)}{'' if not r.variant or r.variant == 'used' else ' (' + r.variant + ')'} "
                         f"{r.calls} calls, won {r.won}/lost {r.lost}" for r in rows[:n]) or "none"

    cov = data.coverage
    used = [r for r in data.messages if r.variant == "used"]
    contradicted = [r for r in data.messages if r.variant == "contradicted"]
    quote = next((r.quotes[0] for r in data.competitors + data.objections if r.quotes), None)
    return [
        f"[bold]Report:[/] {plain(path)} (and {plain(path.with_suffix('.html').name)}: charts, quotes linked to the "
        f"recordings)",
        f"Period {cov.since} to {cov.until}: {cov.calls} calls, {cov.deals} deals "
        f"({cov.won} won, {cov.lost} lost, {cov.open} open), win rate {pct(cov.baseline_win_rate)}",
        f"Objections: {top(data.objections)}",
        f"Competitors (customer-said): {top(data.competitors)}",
        f"Messages used: {top(used)}",
        f"Messages contradicted: {top(contradicted)}",
        f"Engines: {plain(', '.join(cov.transcribers))}; extraction {plain(', '.join(cov.extractors))}",
        f"Example evidence: “{plain(quote.text)}” ({plain(quote.call)} @ {quote.at}, {quote.outcome})" if quote else
        "Example evidence: none",
        f"Done in {seconds:.0f} s at {dt.datetime.now():%H:%M}. Next: `winloss ask \"why do we lose to Quotient?\"`, "
        f"`winloss insights competitors`, `winloss reps`, `winloss call show ID --html call.html`",
        "Findings as JSON lines: `winloss export findings --format jsonl`",
    ]
