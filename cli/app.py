"""The `winloss` command."""

from __future__ import annotations

import os
from pathlib import Path

import typer

from . import analyze, doctor, evaluate, insights, query, report, review, search
from .state import AppState

app = typer.Typer(help="winloss: win/loss analysis of recorded sales calls.", no_args_is_help=True,
                  pretty_exceptions_enable=False, add_completion=False)


@app.callback()
def root(ctx: typer.Context,
         config: Path = typer.Option(None, "--config", "-c", help="config TOML (default: config/winloss.toml, "
                                     "or $WINLOSS_CONFIG)", exists=False),
         data_dir: Path = typer.Option(None, "--data-dir", help="where the store, index and reports live "
                                       "(env WINLOSS_DATA_DIR)")) -> None:
    ctx.obj = AppState(config=config, data_dir=data_dir)


analyze.register(app)
report.register(app)
query.register(app)
search.register(app)
insights.register(app)
evaluate.register(app)
review.register(app)
doctor.register(app)


def main() -> None:
    # Prefect's per-task INFO lines would drown the progress bar; WARNING and up still show.
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    app()


if __name__ == "__main__":
    main()
