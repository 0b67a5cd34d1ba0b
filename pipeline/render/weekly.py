"""The win/loss report for a period, as plain functions: aggregate the store, write the file(s), deliver them.

`winloss report` and `winloss demo` call `weekly_report` directly: a report is a query, and starting an
orchestrator to run one cost 15 s of every report (docs/PERFORMANCE.md). The scheduled Prefect flow in
flows/report.py wraps the same `write_report` and `deliver_report` as tasks.
"""

from __future__ import annotations

import datetime as dt
import html
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel
from winloss.pipeline.errors import WinlossError
from winloss.pipeline.insight import insights, narrative
from winloss.pipeline.render import deliver, report
from winloss.pipeline.render.links import MediaLinks
from winloss.pipeline.settings import Settings

if TYPE_CHECKING:
    from winloss.pipeline.app import App

log = logging.getLogger(__name__)


class ReportRun(BaseModel):
    files: list[Path]
    summary: str = ""  # the title and the narrative: what a chat webhook shows
    deliveries: list[deliver.Delivery] = []
    narrative_engine: str = "offline"
    email_html: str | None = None  # the HTML report as it travels by email: no link that needs this disk


class DeliveryFailed(WinlossError):
    pass


def default_period(today: dt.date | None = None) -> tuple[dt.date, dt.date]:
    """The last seven days, today included."""
    today = today or dt.date.today()
    return today - dt.timedelta(days=6), today


def _narrative(app: App, data: insights.Insights) -> narrative.Narrative | None:
    """The LLM's narrative when one is enabled; on any LLM failure the offline one, with a warning."""
    if not app.settings.llm.enabled:
        return None
    try:
        return narrative.llm(data, app.llm_client(), app.playbook)
    except WinlossError as exc:
        log.warning("LLM narrative failed, the report uses the offline one: %s", exc)
        return None


def chat_text(text: str) -> str:
    """Data in a chat webhook's text: `<`, `>` and `&` are Slack's control characters (`<!channel>` pings everyone,
    `<url|label>` links), so they travel as the entities Slack documents."""
    return html.escape(text, quote=False)


def write_report(app: App, since: dt.date | None, until: dt.date | None, formats: list[str],
                 out: Path | None = None) -> ReportRun:
    """Compute the period's insights once and write them in each format."""
    settings, playbook = app.settings, app.playbook
    data = insights.compute(app.store, since, until, settings.report.min_sample, settings.report.quotes_per_finding,
                            settings.report.alpha, [m.id for m in playbook.messages],
                            target_precision=settings.extraction.target_precision)
    story = _narrative(app, data)
    files, email_html = [], None
    for fmt in formats:
        path = out if out is not None and len(formats) == 1 else (
            settings.data_dir / settings.report.out_dir / f"winloss-{since or 'start'}-{until or 'today'}.{fmt}")
        links = MediaLinks.for_page(path, settings.report.media_base_url, settings.report.media_root)
        files.append(report.write_file(path, report.render(data, fmt, playbook, story, links)))
        if fmt == "html":
            email_html = report.render(data, fmt, playbook, story, links.travelling())
    sentences = story.sentences if story else narrative.offline(data)
    summary = (f"*Win/loss report {since or 'start'} to {until or 'today'}*\n{chat_text(' '.join(sentences))}\n"
               f"Files: {chat_text(', '.join(str(f) for f in files))}")
    return ReportRun(files=files, summary=summary, narrative_engine=story.engine if story else "offline",
                     email_html=email_html)


def deliver_report(settings: Settings, run: ReportRun, subject: str) -> ReportRun:
    deliveries = deliver.deliver(run.files, subject, run.summary, settings.report.delivery, run.email_html)
    return run.model_copy(update={"deliveries": deliveries})


def check_deliveries(run: ReportRun) -> ReportRun:
    """The run, or DeliveryFailed naming each failed channel (the files stay where they were written)."""
    failed = [d for d in run.deliveries if not d.ok]
    for d in run.deliveries:
        log.info("delivery %s to %s: %s", d.channel, d.target, "ok" if d.ok else d.error)
    if failed:
        raise DeliveryFailed("; ".join(f"{d.channel} to {d.target} failed after {d.attempts} attempt(s): {d.error}"
                                       for d in failed) + f". The report is kept at {', '.join(map(str, run.files))}")
    return run


def weekly_report(app: App, since: dt.date | None = None, until: dt.date | None = None,
                  fmt: str | list[str] = "md", out: Path | None = None, send: bool = False) -> Path:
    """The report for a period (default: Markdown for the last 7 days), in one format or several computed once;
    returns the first file. `send` also delivers them."""
    if since is None and until is None:
        since, until = default_period()
    run = write_report(app, since, until, [fmt] if isinstance(fmt, str) else list(fmt), out)
    if send:
        check_deliveries(deliver_report(app.settings, run, f"Win/loss report {since} to {until}"))
    return run.files[0]
