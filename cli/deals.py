"""`winloss deals import`: outcomes, amounts, stages and close dates from the CRM, without analysing calls again."""

from __future__ import annotations

from pathlib import Path

import typer

from .state import console, err_console, plain, print_json, state

deals_app = typer.Typer(help="Deals from the CRM.\n\nExample: winloss deals import deals.csv", no_args_is_help=True)


def import_deals(ctx: typer.Context, file: Path, mapping: str, wait_s: float = 0):
    """Read a CRM export and apply it to the store and index under the data dir's lock; the ImportResult."""
    from winloss.pipeline.ingest.deals_import import apply_deals, read_export
    from winloss.pipeline.storage.lock import data_lock

    st = state(ctx)
    deals = read_export(file, mapping)
    index = st.index  # opened (and re-keyed if an upgrade asks) before the lock: re-keying takes it too
    with data_lock(st.settings.data_dir, "deals import", wait_s):
        return apply_deals(st.store, index, deals)


def print_result(result) -> None:
    console.print(f"{result.deals} deal(s) in {plain(result.file)}: {len(result.new)} new, {len(result.updated)} "
                  f"updated, {result.unchanged} unchanged; {len(result.outcome_changed)} outcome(s) changed, "
                  f"{result.calls_updated} call(s) updated", highlight=False, soft_wrap=True)
    for deal_id, outcome in result.outcome_changed.items():
        console.print(f"  {plain(deal_id)} → {outcome}", highlight=False)
    for warning in result.warnings:
        err_console.print(f"  [yellow]warning[/] {plain(warning)}", highlight=False, soft_wrap=True)


@deals_app.command("import")
def deals_import(ctx: typer.Context,
                 file: Path = typer.Argument(..., help="the CRM's CSV export"),
                 mapping: str = typer.Option("winloss", "--mapping", help="salesforce (Opportunity: Id, StageName, "
                                             "Amount, CloseDate, IsWon, IsClosed), hubspot (Deal ID or Record ID, "
                                             "Deal Stage, Amount, Close Date), winloss (deals.csv), or a mapping "
                                             "TOML file (columns per field, won and lost stages: see the README)"),
                 wait: float = typer.Option(0, "--wait", min=0, help="seconds to wait for another run writing the "
                                            "same data dir"),
                 as_json: bool = typer.Option(False, "--json", help="print what changed as JSON")) -> None:
    """Update deal outcomes, amounts, stages and close dates from a CRM export; calls are not analysed again.

    Example: winloss deals import opportunities.csv --mapping salesforce
    """
    result = import_deals(ctx, file, mapping, wait)
    if as_json:
        print_json(result.model_dump(mode="json"))
    else:
        print_result(result)


def register(app: typer.Typer) -> None:
    app.add_typer(deals_app, name="deals")
