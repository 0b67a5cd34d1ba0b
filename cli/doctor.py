"""`winloss doctor`: do the store and the index agree?"""

from __future__ import annotations

import typer

from .state import console, print_json, state


def doctor(ctx: typer.Context, as_json: bool = typer.Option(False, "--json", help="print the counts as JSON")) -> None:
    """Compare the store with the index, collection by collection; exit 1 and say what to run when they disagree.

    Example: winloss doctor --json
    """
    from winloss.pipeline.storage.reindex import health

    st = state(ctx)
    found = health(st.store, st.raw_index)
    if as_json:
        print_json({**found.model_dump(), "ok": found.ok})
    else:
        for line in found.advice():
            console.print(line, highlight=False, soft_wrap=True)
    if not found.ok:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command()(doctor)
