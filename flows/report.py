"""weekly_report: aggregate the store for a period and write the report file(s)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from prefect import flow
from winloss.pipeline import insights, report
from winloss.pipeline.settings import Settings, load_playbook
from winloss.pipeline.store import Store


def default_period(today: dt.date | None = None) -> tuple[dt.date, dt.date]:
    """The last seven days, today included."""
    today = today or dt.date.today()
    return today - dt.timedelta(days=6), today


@flow(name="weekly_report", validate_parameters=False)
def weekly_report(settings: Settings, since: dt.date | None = None, until: dt.date | None = None,
                  fmt: str = "md", out: Path | None = None) -> Path:
    if since is None and until is None:
        since, until = default_period()
    playbook = load_playbook(settings.playbook)
    store = Store(settings.database_url)
    data = insights.compute(store, since, until, settings.report.min_sample, settings.report.quotes_per_finding)
    text = report.render(data, fmt, playbook)
    if out is None:
        out = settings.data_dir / settings.report.out_dir / f"winloss-{since or 'start'}-{until or 'today'}.{fmt}"
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(out.suffix + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(out)  # never leave a half-written report where the last good one was
    return out
