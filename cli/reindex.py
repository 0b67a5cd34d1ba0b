"""`winloss reindex`: rebuild the vector index from the store."""

from __future__ import annotations

import typer

from .state import console, print_json, state


def reindex(ctx: typer.Context, as_json: bool = typer.Option(False, "--json", help="print the counts as JSON")) -> None:
    """Rebuild the vector index (and SQLite's full-text table) from the store (after a crash, an embedder change, or
    a restore).

    Example: winloss reindex --json
    """
    from winloss.pipeline.storage import fulltext
    from winloss.pipeline.storage.reindex import reindex as run_reindex

    st = state(ctx)
    counts = run_reindex(st.store, st.batch_index())
    fulltext.rebuild(st.store.engine)
    if as_json:
        print_json(counts)
        return
    console.print(f"reindexed {counts['calls']} calls: {counts['utterances']} utterances, "
                  f"{counts['findings']} findings")


def register(app: typer.Typer) -> None:
    app.command()(reindex)
