"""`winloss demo`: the whole loop on the bundled example calls, and a report."""

from __future__ import annotations

import csv
import datetime as dt
import time
from pathlib import Path

import typer
from winloss.pipeline.errors import WinlossError

from .analyze import print_outcomes, run_analysis
from .state import EXAMPLES, console, plain, print_json, state


def demo_corpus(examples: Path, data_dir: Path) -> tuple[Path, Path, bool]:
    """The demo's manifest and deals file, and whether the manifest is outside its files' folder. A checkout has
    the audio (examples/calls.csv); an installed wheel carries the same calls as text transcripts only
    (examples/scripts), for which a manifest with the same dates, reps and deals is written under the data dir."""
    manifest, deals = examples / "calls.csv", examples / "deals.csv"
    if not manifest.exists() or not deals.exists():
        raise WinlossError(f"{examples}: the demo corpus is missing (calls.csv, deals.csv); reinstall winloss")
    with manifest.open(encoding="utf-8", newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["path"].startswith("calls/")]
    if all((manifest.parent / r["path"]).exists() for r in rows):
        return manifest, deals, False
    for r in rows:
        r["path"] = str((examples / "scripts" / (Path(r["path"]).stem + ".txt")).resolve())
    missing = [r["path"] for r in rows if not Path(r["path"]).exists()]
    if missing:
        raise WinlossError(f"{missing[0]}: a demo transcript is missing ({len(missing)} in all); reinstall winloss")
    text_manifest = data_dir / "demo" / "calls.csv"
    text_manifest.parent.mkdir(parents=True, exist_ok=True)
    with text_manifest.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return text_manifest, deals, True


def demo(ctx: typer.Context,
         as_json: bool = typer.Option(False, "--json", help="print the outcomes, report files and coverage as "
                                      "JSON (progress goes to stderr)")) -> None:
    """Run the whole loop on the bundled example calls (audio in a checkout, text transcripts in an installed
    package) and write a report.

    Example: winloss demo
    """
    from winloss.pipeline.insight import insights
    from winloss.pipeline.render.weekly import weekly_report

    started = time.perf_counter()
    st = state(ctx)
    manifest, deals, outside = demo_corpus(EXAMPLES, st.settings.data_dir)
    outcomes = run_analysis(ctx, [], manifest, deals, allow_outside=outside, quiet=as_json)
    dates = [c.date for c in st.store.list_calls() if c.date]
    since, until = (min(dates), max(dates)) if dates else (None, None)
    path = weekly_report(st, since=since, until=until, fmt=["md", "html"])
    data = insights.compute(st.store, since, until, st.settings.report.min_sample, 1)
    if as_json:
        print_json({"files": [o.model_dump(mode="json") for o in outcomes],
                    "report": [str(path), str(path.with_suffix(".html"))],
                    "coverage": data.coverage.model_dump(mode="json")})
        return
    print_outcomes(outcomes)
    for line in summary_lines(data, path, time.perf_counter() - started, recordings=not outside):
        console.print(line, highlight=False, soft_wrap=True)


def summary_lines(data, path: Path, seconds: float, recordings: bool = True) -> list[str]:
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
        f"[bold]Report:[/] {plain(path)} (and {plain(path.with_suffix('.html').name)}: charts, quotes"
        f"{' linked to the recordings' if recordings else ''})",
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


def register(app: typer.Typer) -> None:
    app.command()(demo)
