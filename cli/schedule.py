"""`winloss schedule`: the weekly report and the drop-folder analysis as deployments on a Prefect server."""

from __future__ import annotations

import typer
from winloss.pipeline.errors import WinlossError

NO_SERVER = ("`winloss schedule` needs a Prefect server that outlives it, or the schedule and its runs vanish when "
             "this process stops. Start one in another terminal with `prefect server start`, then "
             "`export PREFECT_API_URL=http://127.0.0.1:4200/api` and run `winloss schedule` again (the UI at "
             "http://127.0.0.1:4200 shows the runs). To try it without a server, `winloss schedule --local` serves "
             "against a temporary one.")


def schedule(ctx: typer.Context,
             local: bool = typer.Option(False, "--local", help="serve against a temporary in-process Prefect "
                                        "server (gone when this process stops) instead of refusing without "
                                        "PREFECT_API_URL")) -> None:
    """Serve the weekly report (cron report.schedule in report.timezone) and, when report.drop_folder is set, an
    hourly analysis of new calls there, as Prefect deployments on the server PREFECT_API_URL names.

    Example: prefect server start & export PREFECT_API_URL=http://127.0.0.1:4200/api; winloss schedule
    """
    import os

    if local:  # Prefect's 20 s for its temporary server to come up is too short on a busy 2-core machine
        os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    from winloss.flows.analyze import prefect_api_url

    from .state import state

    if not prefect_api_url() and not local:
        raise WinlossError(NO_SERVER)
    from prefect import serve
    from winloss.flows.schedule import deployments

    serve(*deployments(state(ctx).settings), print_starting_message=True)


def register(app: typer.Typer) -> None:
    app.command()(schedule)
