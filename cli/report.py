"""`winloss report`: the win/loss report for a period, as Markdown, HTML or JSON."""

from __future__ import annotations

import datetime as dt
import sys
import tempfile
from pathlib import Path

import typer

from .options import period
from .state import console, is_stdout, plain, print_json, state


def report(ctx: typer.Context,
           since: dt.datetime = typer.Option(None, formats=["%Y-%m-%d"], help="first day (default: 6 days "
                                             "before --until)"),
           until: dt.datetime = typer.Option(None, formats=["%Y-%m-%d"], help="last day (default: today)"),
           fmt: str = typer.Option("md", "--format", metavar="[md|html|json]", help="md, html or json"),
           out: Path = typer.Option(None, "--out", help="file to write (default: under the data "
                                                          "dir; -: standard output)"),
           send: bool = typer.Option(False, "--send", help="also deliver it (report.delivery: email, webhook)"),
           as_json: bool = typer.Option(False, "--json", help="print the written file and period as JSON"),
           ) -> None:
    """Write the win/loss report for a period (default: the last 7 days).

    Example: winloss report --since 2026-11-16 --until 2026-11-22 --format html --out report.html
    """
    from winloss.pipeline.render.report import FORMATS, check_writable
    from winloss.pipeline.render.weekly import default_period, weekly_report

    if fmt not in FORMATS:
        raise typer.BadParameter(f"--format must be one of {', '.join(FORMATS)}")
    start, end = since.date() if since else None, until.date() if until else None
    if start is None or end is None:
        d_start, d_end = default_period(end)
        start, end = start or d_start, end or d_end
    start, end = period(start, end)
    to_stdout = out is not None and is_stdout(out)
    if out is not None and not to_stdout:  # a slip in --out is said in one line, before the work
        check_writable(out)
    with tempfile.TemporaryDirectory() as tmp:  # `--out -`: written whole, then printed
        target = Path(tmp) / f"report.{fmt}" if to_stdout else out
        path = weekly_report(state(ctx), since=start, until=end, fmt=fmt, out=target, send=send)
        if to_stdout:
            sys.stdout.write(path.read_text(encoding="utf-8"))
            sys.stdout.flush()
            return
    if as_json:
        print_json({"files": [str(path)], "format": fmt, "since": start, "until": end, "sent": send})
    else:
        console.print(plain(path), highlight=False, soft_wrap=True)


def register(app: typer.Typer) -> None:
    app.command()(report)
