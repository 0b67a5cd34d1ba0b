"""The `winloss` command."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import typer
from winloss.pipeline.app import App

from . import (
    analyze,
    calls,
    deal,
    deals,
    demo,
    doctor,
    evaluate,
    export,
    insights,
    models,
    reindex,
    report,
    reps,
    review,
    schedule,
    search,
)
from . import config as config_commands  # `config` is the root option's name below
from .conventions import WinlossGroup
from .state import FAILURE, debugging, err_console, plain

app = typer.Typer(cls=WinlossGroup, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="winloss: win/loss analysis of recorded sales calls.\n\n"
                       "Example: winloss init && winloss demo")


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError
        from importlib.metadata import version as installed

        try:
            print(f"winloss {installed('winloss')}")
        except PackageNotFoundError:  # run from a checkout that is not installed
            print("winloss (not installed)")
        raise typer.Exit()


@app.callback()
def root(ctx: typer.Context,
         config: Path = typer.Option(None, "--config", "-c", help="config TOML (default: $WINLOSS_CONFIG, "
                                     "./winloss.toml, ./config/winloss.toml, the user config dir, then the packaged "
                                     "defaults: see `winloss config show`)", exists=False),
         data_dir: Path = typer.Option(None, "--data-dir", help="where the store, index and reports live "
                                       "(env WINLOSS_DATA_DIR)"),
         debug: bool = typer.Option(False, "--debug", envvar="WINLOSS_DEBUG",
                                    help="show the traceback of an error (env WINLOSS_DEBUG=1)"),
         version: bool = typer.Option(False, "--version", is_eager=True, callback=_version,
                                      help="print the version and exit")) -> None:
    if debug:  # main()'s handler runs after this context is gone: the environment is what it can still read
        os.environ["WINLOSS_DEBUG"] = "1"
    ctx.obj = App(config=config, data_dir=data_dir)


for module in (config_commands, demo, analyze, deals, deal, report, schedule, search, calls, export, insights, reps,
               review, evaluate, doctor, reindex, models):
    module.register(app)


def main() -> None:
    # Prefect's per-task INFO lines would drown the progress bar; WARNING and up still show.
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    try:
        app()
    except Exception as exc:  # a bug (WinlossGroup says a WinlossError): one line, the traceback on --debug
        if debugging():
            raise
        sys.exit(_one_line(exc))


def _one_line(exc: Exception) -> int:
    """Say a bug in one line, with where to find its traceback, and return the exit code. (A WinlossError is the
    user's to fix: WinlossGroup has said it already, and exited.)"""
    message = (f"internal error: {type(exc).__name__}: {exc} (run again with --debug or WINLOSS_DEBUG=1 for the "
               f"traceback, and report it)")
    err_console.print(f"[bold red]error:[/] {plain(message)}", highlight=False, soft_wrap=True)
    return FAILURE


if __name__ == "__main__":
    main()
