"""The stored calls: `calls` (the list, filtered) and `call show` (one call)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table
from winloss.pipeline.vocab import Outcome, mmss

from .options import parse_date, period
from .state import cells, console, percent, plain, print_json, state

call_app = typer.Typer(help="One call: transcript and findings.", no_args_is_help=True)


def calls(ctx: typer.Context, as_json: bool = typer.Option(False, "--json", help="print the calls as JSON"),
          rep: str = typer.Option(None, help="only this rep's calls"),
          outcome: Outcome = typer.Option(None, help="how the call's deal ended"),
          since: str = typer.Option(None, metavar="YYYY-MM-DD", help="calls on or after this date"),
          until: str = typer.Option(None, metavar="YYYY-MM-DD", help="calls on or before this date"),
          competitor: str = typer.Option(None, help="only calls in which the customer named this competitor"),
          ) -> None:
    """The calls in the store, with their deal outcome and number of findings.

    Example: winloss calls --rep Maya --outcome lost --since 2026-10-01
    """
    start, end = period(parse_date(since), parse_date(until))
    store = state(ctx).store
    rows = store.list_calls()
    keep = store.call_ids(rep=rep, outcome=outcome.value if outcome else None, since=start, until=end,
                          competitor=competitor)
    if keep is not None:
        kept = set(keep)
        rows = [r for r in rows if r.call_id in kept]
    if as_json:
        print_json([r.model_dump(mode="json") for r in rows])
        return
    table = Table("call", "date", "rep", "account", "deal", "outcome", "min", "findings", "file")
    for r in rows:
        table.add_row(*cells(r.call_id[:8], r.date or "–", r.rep or "–", r.account or "–",
                             r.deal_id or "–", r.outcome or "–", f"{r.duration / 60:.1f}", r.findings,
                             r.path.rsplit("/", 1)[-1]))
    console.print(table)


@call_app.command("show")
def call_show(ctx: typer.Context, call_id: str = typer.Argument(..., help="call id (a unique prefix is enough)"),
              as_json: bool = typer.Option(False, "--json", help="print summary, transcript and findings as JSON"),
              html: Path = typer.Option(None, "--html", help="also write the call page (player, moments, transcript)"),
              bundle: bool = typer.Option(False, "--bundle", help="copy the recording into media/ beside the page, "
                                          "so its folder plays it wherever it is moved or unzipped"),
              llm: bool = typer.Option(None, "--llm/--offline", help="LLM summary (default: llm.enabled)")) -> None:
    """A call: key moments with times, metrics, and the transcript with roles and findings.

    Example: winloss call show 3f2a9c1e --html call/index.html --bundle
    """
    from winloss.pipeline.insight import summary
    from winloss.pipeline.render import callpage
    from winloss.pipeline.render.links import MediaLinks
    from winloss.pipeline.render.report import check_writable, write_file

    st = state(ctx)
    full_id = st.store.resolve_call_id(call_id)
    transcript = st.store.transcript(full_id)
    found = st.store.findings(full_id)
    row = st.store.call_row(full_id)
    use_llm = st.settings.llm.enabled if llm is None else llm
    if use_llm:
        brief, dropped = summary.llm(transcript, found, st.playbook, st.llm_client(), st.llm_redactor(),
                                     row.date)
    else:
        brief, dropped = summary.offline(transcript, found, st.playbook, row.date), 0
    if html is not None:
        audio = callpage.recording_of(Path(row.path))
        if audio is not None and bundle:
            check_writable(html, "call page")
            audio = callpage.bundle(audio, html)
        links = MediaLinks.for_page(html, st.settings.report.media_base_url, st.settings.report.media_root)
        write_file(html, callpage.render(row, transcript, found, brief, audio, links), "call page")
    if as_json:
        print_json({"call": row.model_dump(mode="json"), "summary": brief.model_dump(mode="json"),
                    "dropped_summary_items": dropped,
                    "transcript": transcript.model_dump(mode="json"),
                    "findings": [f.model_dump(mode="json") for f in found]})
        return
    console.print(f"[bold]{full_id}[/] {plain(row.path)} · {row.date or 'undated'} · "
                  f"rep {plain(row.rep or '–')} · "
                  f"deal {plain(row.deal_id or '–')} ({row.outcome or 'no outcome'}) · "
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
    console.print(f"[bold]Metrics[/] talk ratio {percent(met.talk_ratio)} · "
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


def register(app: typer.Typer) -> None:
    app.command()(calls)
    app.add_typer(call_app, name="call")
