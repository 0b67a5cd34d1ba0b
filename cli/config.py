"""`winloss init` (a starter config and playbook) and `winloss config show` (the effective config, and its sources)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from .state import cells, console, plain, print_json, state

config_app = typer.Typer(help="The effective configuration.\n\nExample: winloss config show --json",
                         no_args_is_help=True)


def init(folder: Path = typer.Argument(Path("."), help="where to write winloss.toml and playbook.toml"),
         force: bool = typer.Option(False, "--force", help="overwrite the files if they are there"),
         as_json: bool = typer.Option(False, "--json", help="print the files written as JSON")) -> None:
    """Write a commented config (winloss.toml) and a starter playbook (playbook.toml) to edit: winloss finds
    ./winloss.toml by itself, and keeps its data in the user data dir unless the config sets data_dir.

    Example: winloss init && winloss analyze calls/ --manifest calls.csv
    """
    from winloss.pipeline.discovery import user_data_dir, write_starter

    written = write_starter(folder, force)
    if as_json:
        print_json({"files": [str(p) for p in written], "data_dir": str(user_data_dir())})
        return
    for path in written:
        console.print(f"wrote {plain(path)}", highlight=False, soft_wrap=True)
    console.print(f"Next: edit {plain(written[1])} (your company, competitors, messages, objections), then "
                  f"`winloss analyze` your calls. Data goes to {plain(user_data_dir())} unless data_dir is set.",
                  highlight=False, soft_wrap=True)


@config_app.command("show")
def config_show(ctx: typer.Context,
                as_json: bool = typer.Option(False, "--json", help="print values and sources as JSON")) -> None:
    """Every setting's effective value and where it came from: the config file, a WINLOSS_* variable, a flag, or
    the default.

    Example: WINLOSS_REPORT__MIN_SAMPLE=8 winloss config show --json
    """
    from winloss.pipeline.settings import load_settings_with_sources

    st = state(ctx)
    settings, sources = load_settings_with_sources(st.config, data_dir=st.data_dir)
    values = _flat(settings.model_dump(mode="json"))
    if as_json:
        print_json({"config_file": str(settings.config_file), "found_by": settings.config_origin,
                    "settings": {k: {"value": v, "source": sources[k]} for k, v in values.items()}})
        return
    console.print(f"config file: {plain(settings.config_file)} (found by {plain(settings.config_origin)})",
                  highlight=False, soft_wrap=True)
    table = Table("key", "value", "source")
    for key, value in values.items():
        table.add_row(*cells(key, '""' if value == "" else value, sources[key]))
    console.print(table)


def _flat(tree: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in tree.items():
        out |= _flat(v, f"{prefix}{k}.") if isinstance(v, dict) else {f"{prefix}{k}": v}
    return out


def register(app: typer.Typer) -> None:
    app.command()(init)
    app.add_typer(config_app, name="config")
