"""`winloss deal show ID`: one deal's calls in order, what was raised and answered, who was named, what was said."""

from __future__ import annotations

from pathlib import Path

import typer

from .state import console, plain, print_json, state

deal_app = typer.Typer(help="One deal across its calls.", no_args_is_help=True)


def _yes(value: bool | None) -> str:
    return "not judged" if value is None else "answered" if value else "[red]not answered[/]"


@deal_app.command("show")
def deal_show(ctx: typer.Context, deal_id: str = typer.Argument(..., help="the deal id, as in the CRM export"),
              as_json: bool = typer.Option(False, "--json", help="print the deal view as JSON"),
              html: Path = typer.Option(None, "--html", help="also write the deal page (calls linked at each time)")
              ) -> None:
    """A deal: its calls in order, objections raised and whether they were answered, competitors, messages, next
    steps and the outcome.

    Example: winloss deal show D-1003 --html deal.html
    """
    from winloss.pipeline.insight.deal import deal_view, render_html
    from winloss.pipeline.render.links import MediaLinks
    from winloss.pipeline.render.report import write_file

    st = state(ctx)
    view = deal_view(st.store, deal_id, st.playbook)
    if html is not None:
        links = MediaLinks.for_page(html, st.settings.report.media_base_url, st.settings.report.media_root)
        write_file(html, render_html(view, links), "deal page")
    if as_json:
        print_json(view.model_dump(mode="json"))
        return
    amount = "" if view.amount is None else f" · amount {view.amount:,.0f}"
    console.print(f"[bold]Deal {plain(view.deal_id)}[/] {plain(view.account or '')} · outcome [bold]{view.outcome}"
                  f"[/]{' (' + plain(view.stage) + ')' if view.stage else ''}{amount} · {len(view.calls)} call(s)",
                  highlight=False)
    for o in view.objections:
        console.print(f"  objection {plain(o.label)}: raised {o.raised}, answered {o.answered}"
                      f"{'' if o.handled else ' [red](not handled)[/]'}", highlight=False)
    console.print(f"  competitors (customer-said): {plain(', '.join(view.competitors) or 'none')}", highlight=False)
    console.print(f"  messages delivered: {plain(', '.join(view.messages_delivered) or 'none')}; contradicted: "
                  f"{plain(', '.join(view.messages_contradicted) or 'none')}; never: "
                  f"{plain(', '.join(view.messages_missed) or 'none')}", highlight=False)
    for n, call in enumerate(view.calls, 1):
        console.print(f"[bold]{n}. {call.date or 'undated'}[/] rep {plain(call.rep or '–')} · "
                      f"{plain(Path(call.path).name)} · {call.call_id[:8]}", highlight=False)
        for s in call.objections:
            console.print(f"   [dim]{s.at}[/] objection {plain(s.label)} ({_yes(s.answered)}) “{plain(s.quote)}”",
                          highlight=False, soft_wrap=True)
        for s in call.competitors:
            console.print(f"   [dim]{s.at}[/] competitor {plain(s.label)} “{plain(s.quote)}”", highlight=False,
                          soft_wrap=True)
        for s in call.messages:
            console.print(f"   [dim]{s.at}[/] message {plain(s.label)} {s.status} “{plain(s.quote)}”",
                          highlight=False, soft_wrap=True)
        for s in call.next_steps:
            console.print(f"   [dim]{s.at}[/] next step {plain(s.status or s.label)} “{plain(s.quote)}”",
                          highlight=False, soft_wrap=True)


def register(app: typer.Typer) -> None:
    app.add_typer(deal_app, name="deal")
