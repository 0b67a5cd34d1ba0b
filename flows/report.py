"""scheduled_report: the deployment `winloss schedule` serves, over the plain functions of pipeline/render/weekly.py.

`winloss report` calls weekly_report directly (no orchestrator for a query); the schedule is where
Prefect earns its place: cron, retries of a failed delivery, and the run history in the UI. Its parameters are plain
strings (a config path and a data dir) so a Prefect server can store and trigger it.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from winloss.pipeline.app import App
from winloss.pipeline.render import weekly

# Re-exported: callers and tests that knew them here keep working.
from winloss.pipeline.render.weekly import (  # noqa: F401
    DeliveryFailed,
    ReportRun,
    chat_text,
    default_period,
    weekly_report,
)

# persist_result=False: results hold quotes; see flows/analyze.py
write_report = task(name="write-report", cache_policy=NO_CACHE, persist_result=False)(weekly.write_report)
deliver_report = task(name="deliver-report", cache_policy=NO_CACHE, persist_result=False)(weekly.deliver_report)


@flow(name="scheduled_report", validate_parameters=True, persist_result=False)
def scheduled_report(config: str, data_dir: str | None = None, today: str | None = None) -> ReportRun:
    """The scheduled run: the last 7 days in the configured timezone, every configured format, delivered."""
    app = App(config=Path(config), data_dir=Path(data_dir) if data_dir else None)
    settings = app.settings
    day = dt.date.fromisoformat(today) if today else dt.datetime.now(ZoneInfo(settings.report.timezone)).date()
    since, until = default_period(day)
    run = write_report(app, since, until, list(settings.report.formats))
    # a failed delivery fails the flow run, so it shows in Prefect's UI
    return weekly.check_deliveries(deliver_report(settings, run, f"Win/loss report {since} to {until}"))
