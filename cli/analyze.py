"""`winloss analyze`: transcribe and analyse calls into the store and index."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from .state import SOME_FAILED, console, err_console, plain, print_json, state

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

    Exit codes: 0 done, 1 failure (nothing analysed), 2 usage, 3 some inputs failed (the others are stored).

    Example: winloss analyze recordings/ --manifest calls.csv --deals deals.csv
    """
    if not paths and not manifest:
        if deals is None:
            raise typer.BadParameter("give audio/transcript paths or --manifest (or --deals alone to update "
                                     "deal outcomes: the same as `winloss deals import`)")
        from .deals import import_deals, print_result

        result = import_deals(ctx, deals, "winloss", wait)  # outcomes only: no call is analysed again
        if as_json:
            print_json({"deals": result.model_dump(mode="json")})
        else:
            print_result(result)
        return
    outcomes = run_analysis(ctx, paths or [], manifest, deals, allow_outside, prune, wait, quiet=as_json)
    if as_json:
        print_json({"files": [o.model_dump(mode="json") for o in outcomes],
                    "warnings": list(getattr(outcomes, "warnings", []))})
    else:
        print_outcomes(outcomes)
    if any(o.status == "failed" for o in outcomes):
        raise typer.Exit(SOME_FAILED)


def register(app: typer.Typer) -> None:
    app.command()(analyze)
