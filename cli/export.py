"""`winloss export findings|calls|deals`: stored data as JSON lines or CSV, for BI tools and spreadsheets."""

from __future__ import annotations

from pathlib import Path

import typer
from winloss.pipeline.vocab import ExportFormat

from .state import emit, err_console, is_stdout, plain, state

export_app = typer.Typer(help="Export stored data.\n\nExample: winloss export findings --format csv --out findings.csv",
                         no_args_is_help=True)


def _export(ctx: typer.Context, table: str, fmt: ExportFormat, out: Path | None) -> None:
    from winloss.pipeline.storage import export

    found = export.rows(state(ctx).store, table)
    if fmt == ExportFormat.parquet and not is_stdout(out):
        err_console.print(f"{table} export: {plain(export.write_parquet(found, table, out))}", highlight=False,
                          soft_wrap=True)
        return
    emit(export.render(found, table, fmt.value), out, f"{table} export")


_FORMAT = typer.Option(ExportFormat.jsonl, "--format", help="jsonl, csv (cells a spreadsheet would run as a "
                                                              "formula are prefixed with ') or parquet (typed "
                                                              "columns, needs --out FILE and pyarrow)")
_OUT = typer.Option(None, "--out", help="file to write (default, or -: standard output)")


@export_app.command("findings")
def export_findings(ctx: typer.Context, fmt: ExportFormat = _FORMAT, out: Path = _OUT) -> None:
    """Every finding with its call: date, rep, account, deal_id, outcome, call_id, start, end, role, kind, label,
    status, quote, confidence, utterance_index, engine.

    Example: winloss export findings --format csv --out findings.csv
    """
    _export(ctx, "findings", fmt, out)


@export_app.command("calls")
def export_calls(ctx: typer.Context, fmt: ExportFormat = _FORMAT, out: Path = _OUT) -> None:
    """Every call: call_id, path, date, rep, account, deal_id, outcome, duration (s), findings.

    Example: winloss export calls --format jsonl > calls.jsonl
    """
    _export(ctx, "calls", fmt, out)


@export_app.command("deals")
def export_deals(ctx: typer.Context, fmt: ExportFormat = _FORMAT, out: Path = _OUT) -> None:
    """Every deal: deal_id, outcome, amount, close_date, stage, rep, calls (stored calls of the deal).

    Example: winloss export deals --format csv --out deals.csv
    """
    _export(ctx, "deals", fmt, out)


def register(app: typer.Typer) -> None:
    app.add_typer(export_app, name="export")
